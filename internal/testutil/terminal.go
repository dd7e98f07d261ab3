package testutil

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"

	"github.com/creack/pty"
)

// RunTerminal runs bin with args as RunBinary does, but at a terminal: a
// pseudo-terminal of 40 rows by 200 columns is its stdin and stderr, and
// its stdout too when stdoutTTY (otherwise stdout is collected apart, as
// if piped). Result.Stderr is all the terminal received, escape sequences
// and \r\n line ends included; Result.Stdout is empty when stdoutTTY.
func RunTerminal(t testing.TB, bin string, env []string, stdoutTTY bool, args ...string) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := binaryCommand(ctx, t, bin, env, args)
	var stdout bytes.Buffer
	if !stdoutTTY {
		cmd.Stdout = &stdout
	}
	start := time.Now()
	term, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 200})
	if err != nil {
		t.Fatalf("start %s at a terminal: %v", bin, err)
	}
	defer term.Close()
	var screen bytes.Buffer
	read := make(chan struct{})
	go func() {
		// The read fails (EIO) once no process has the terminal open.
		_, _ = io.Copy(&screen, term)
		close(read)
	}()
	err = cmd.Wait()
	select {
	case <-read:
	case <-time.After(10 * time.Second):
		// A child left running holds the terminal: stop reading.
		term.Close()
		<-read
	}
	return ended(t, Result{Stdout: stdout.String(), Stderr: screen.String(), Elapsed: time.Since(start)}, err, bin, args)
}
