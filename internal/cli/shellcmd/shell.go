// Package shellcmd is `iotjobs shell`: an interactive session as the thing
// on one connection. Each line runs the same command as the one-shot CLI,
// through the same cobra tree, lent the session's connection; the
// notifications print as they come.
package shellcmd

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/chzyer/readline"
	"github.com/google/shlex"
	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/iotjobs/iotjobs/internal/cmdutil"
	"github.com/iotjobs/iotjobs/internal/config"
	"github.com/iotjobs/iotjobs/internal/iostreams"
	"github.com/iotjobs/iotjobs/internal/jobs"
	"github.com/iotjobs/iotjobs/internal/mqttclient"
	"github.com/iotjobs/iotjobs/internal/render"
)

// TreeFunc builds the command tree that runs args, a command line
// without the program name, with ios: the root command's tree. A line runs
// through it, and Tab completes a line from the command it finds there.
type TreeFunc func(ios *iostreams.IOStreams, args []string) *cobra.Command

// lineCommands are the commands a line may run.
var lineCommands = []string{"get-pending", "start-next", "describe", "update", "wait"}

type shellOptions struct {
	conn cmdutil.ConnOptions
	tree TreeFunc

	// watching: notifications are printed (watch on|off).
	watching atomic.Bool
	// mu orders what the session writes on stdout: replies and
	// notifications come from different goroutines.
	mu sync.Mutex
}

// NewShellCmd is `iotjobs shell`; each line's command runs through the
// tree that tree builds.
func NewShellCmd(ios *iostreams.IOStreams, tree TreeFunc) *cobra.Command {
	opts := &shellOptions{conn: cmdutil.ConnOptions{IO: ios}, tree: tree}
	cmd := &cobra.Command{
		Use:   "shell",
		Short: "An interactive session as the thing, on one connection",
		Long: `Connect once as the thing, subscribe to notify and notify-next, and read
commands: get-pending, start-next, describe, update and wait, with the same flags
as on the command line (the connection flags come from the session), each
run on the session's connection. The session remembers what it saw: update
without a job id acts on the execution IN_PROGRESS, --expected-version last
is the version last seen of that job, and an update asks for the execution
state so that the session learns the new version. Quote as in a shell: '$next' and $next
both name the next pending execution. Notifications print as they arrive;
"watch off" stops printing them and "watch on" starts again; "help" lists
the commands, "exit" or Ctrl-D ends the session. Ctrl-C cancels the line or
the request in flight, never the session.

The connection comes back by itself after a drop, and a get-pending then
resynchronises the session (printed as watch prints its resync line).

On a terminal the prompt shows the thing and the connection's state, lines
are edited with history (in $XDG_STATE_HOME/iotjobs/shell_history) and Tab
completes commands, flags, statuses and the job ids seen in the session.

When stdin is not a terminal, the shell reads one command per line (blank
lines and # comments skipped) and prints JSON lines: for each command
{"command":"...","exitCode":N,"reply":{...}} (reply as the service sent it;
"error" when there was none), and each notification while watching as
iotjobs watch prints it, {"topic":"...","payload":{...}}. Its exit status is
that of the first command that failed, or 0. So a here-document drives a
whole scenario on one connection.

wait follows the session's notifications, for the session's thing.`,
		Example: `  $ iotjobs shell -t my-thing
  thing-1 (connected)> start-next
  thing-1 (connected)> update --status SUCCEEDED --expected-version last
  $ iotjobs shell -t my-thing <<'EOF'
  get-pending
  start-next --step-timeout 10
  update job-1 --status SUCCEEDED --expected-version 2
  EOF`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := opts.conn.Complete(cmd); err != nil {
				return err
			}
			return runShell(cmd.Context(), opts)
		},
	}
	opts.conn.AddConnFlags(cmd)
	cmd.Flags().Lookup("timeout").Usage = "bound on the connect, and on each command, a `DURATION` (env " + cmdutil.EnvTimeout + ")"
	opts.watching.Store(true)
	return cmd
}

func runShell(parent context.Context, o *shellOptions) error {
	// Ctrl-C cancels a line, not the session: the session's context is
	// cut from the process's, and the signals are taken here.
	ctx := context.WithoutCancel(parent)
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(signals)

	w, err := o.conn.DialSession(ctx, []string{jobs.NotifyTopic(o.conn.Thing).String(), jobs.NotifyNextTopic(o.conn.Thing).String()})
	if err != nil {
		return err
	}
	defer w.Close()
	s := &session{o: o, w: w, signals: signals, mem: newMemory()}
	s.ctx = cmdutil.WithSession(ctx, o.conn.Thing, w, func(topic jobs.Topic, reply mqttclient.Reply) { s.mem.seen(topic, reply.Payload) })
	if o.conn.IO.IsStdinTTY() && o.conn.IO.IsStdoutTTY() {
		return s.interactive()
	}
	return s.script()
}

// session is one shell session.
type session struct {
	o       *shellOptions
	w       *mqttclient.Watch
	ctx     context.Context
	signals chan os.Signal
	// notes prints the notifications: pretty above the line being edited
	// on a terminal, JSON lines in script mode.
	notes *render.Printer
	state atomic.Value // string: the connection's state, for the prompt
	rl    *readline.Instance
	mem   *memory
}

// events prints the notifications and follows the connection's state
// until the session ends.
func (s *session) events(ctx context.Context) {
	for {
		e, err := s.w.Next(ctx)
		if err != nil {
			return
		}
		switch e.Kind {
		case mqttclient.Message:
			if topic, err := jobs.ParseTopic(e.Topic); err == nil {
				s.mem.seen(topic, e.Payload)
			}
			if !s.o.watching.Load() {
				continue
			}
			s.o.mu.Lock()
			_ = s.notes.Notification(render.Notification{Topic: e.Topic, Payload: e.Payload, At: e.At})
			s.o.mu.Unlock()
		case mqttclient.Lost:
			s.setState("disconnected")
			fmt.Fprintf(s.errOut(), "%s disconnected (%v); reconnecting\n", jobs.HumanTime(e.At), e.Err)
		case mqttclient.Retrying:
			s.setState(fmt.Sprintf("reconnecting, attempt %d", e.Attempt))
		case mqttclient.Reconnected:
			s.setState("connected")
			fmt.Fprintf(s.errOut(), "%s reconnected; resyncing with get-pending\n", jobs.HumanTime(e.At))
			go s.resync()
		}
	}
}

// resync asks for the pending executions after a reconnect, as watch
// does: notifications sent while the connection was down are lost.
func (s *session) resync() {
	ctx, cancel := context.WithTimeout(s.ctx, s.o.conn.Timeout)
	defer cancel()
	token := uuid.NewString()
	topic := jobs.GetPendingTopic(s.o.conn.Thing)
	payload, _ := json.Marshal(jobs.GetPendingRequest{ClientToken: token})
	reply, err := s.w.Request(ctx, topic, payload, token)
	if err != nil {
		fmt.Fprintf(s.errOut(), "resync after the reconnect failed: %v\n", err)
		return
	}
	s.mem.seen(topic, reply.Payload)
	s.o.mu.Lock()
	defer s.o.mu.Unlock()
	_ = s.notes.Notification(render.Notification{Topic: reply.Topic, Payload: reply.Payload, At: time.Now(), Resync: true})
}

// errOut is where the session's own messages go while lines are read: on a
// terminal through the line editor, which prints them above the line being
// edited instead of over it.
func (s *session) errOut() io.Writer {
	if s.rl != nil {
		return s.rl.Stderr()
	}
	return s.o.conn.IO.ErrOut
}

func (s *session) setState(state string) {
	s.state.Store(state)
	if s.rl != nil {
		s.rl.SetPrompt(s.prompt())
		s.rl.Refresh()
	}
}

func (s *session) prompt() string {
	state, _ := s.state.Load().(string)
	return fmt.Sprintf("%s (%s)> ", s.o.conn.Thing, state)
}

// interactive reads lines with a line editor until exit or Ctrl-D.
func (s *session) interactive() error {
	s.state.Store("connected")
	history, _ := config.HistoryPath()
	if history != "" {
		history = privateHistory(history)
	}
	rl, err := readline.NewEx(&readline.Config{
		Prompt: s.prompt(), HistoryFile: history, AutoComplete: completer{tree: s.o.tree, ios: s.o.conn.IO, mem: s.mem},
		InterruptPrompt: "^C", EOFPrompt: "exit", Stdin: io.NopCloser(s.o.conn.IO.In),
		Stdout: s.o.conn.IO.Out, Stderr: s.o.conn.IO.ErrOut,
	})
	if err != nil {
		return err
	}
	defer rl.Close()
	if history != "" {
		// readline replaces the file when it trims it to its limit, and an
		// older iotjobs created it, 0666 less the umask.
		_ = os.Chmod(history, 0o600)
	}
	s.rl = rl
	above := iostreams.System(nil, rl.Stdout(), s.o.conn.IO.ErrOut)
	above.SetTTY(true, s.o.conn.IO.IsStderrTTY())
	s.notes = render.New(above, render.Pretty)
	go s.events(s.ctx)
	for {
		line, err := rl.Readline()
		switch {
		case errors.Is(err, readline.ErrInterrupt):
			continue // Ctrl-C at the prompt: the line is dropped
		case errors.Is(err, io.EOF):
			return nil
		case err != nil:
			return err
		}
		if done := s.do(line); done {
			return nil
		}
	}
}

// script reads one command per line and prints JSON lines; its error is
// that of the first command that failed.
func (s *session) script() error {
	s.notes = render.New(s.o.conn.IO, render.JSON)
	go s.events(s.ctx)
	first := 0 // the exit status of the first command that failed
	scanner := bufio.NewScanner(s.o.conn.IO.In)
	for scanner.Scan() {
		line := strings.TrimSpace(scanner.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		var out bytes.Buffer
		ios := iostreams.System(nil, &out, s.o.conn.IO.ErrOut)
		err := s.run(line, ios, true)
		if errors.Is(err, errExit) {
			break
		}
		result := map[string]any{"command": line, "exitCode": cmdutil.ExitCode(err)}
		if reply := bytes.TrimSpace(out.Bytes()); json.Valid(reply) && len(reply) > 0 {
			result["reply"] = json.RawMessage(reply)
		} else if err != nil {
			result["error"] = strings.SplitN(err.Error(), "\n", 2)[0]
		}
		s.o.mu.Lock()
		_ = cmdutil.WriteJSONLine(s.o.conn.IO.Out, result)
		s.o.mu.Unlock()
		if err != nil {
			fmt.Fprintln(s.o.conn.IO.ErrOut, "iotjobs: "+err.Error())
			if first == 0 {
				first = cmdutil.ExitCode(err)
			}
		}
	}
	if err := scanner.Err(); err != nil {
		return err
	}
	if first != 0 {
		return cmdutil.SilentExit{Code: first}
	}
	return nil
}

// errExit is the exit command.
var errExit = errors.New("exit")

// do runs a line typed at the prompt and prints what went wrong; done
// reports that the session ends.
func (s *session) do(line string) (done bool) {
	ios := s.o.conn.IO
	err := s.run(line, ios, false)
	switch {
	case errors.Is(err, errExit):
		return true
	case errors.Is(err, context.Canceled):
		fmt.Fprintln(ios.ErrOut, "canceled")
	case err != nil:
		fmt.Fprintln(ios.ErrOut, "iotjobs: "+err.Error())
	}
	return false
}

// run runs one line: a built-in, or a command on the session's
// connection with the session's connection flags.
func (s *session) run(line string, ios *iostreams.IOStreams, jsonLines bool) error {
	words, err := shlex.Split(line)
	if err != nil {
		return cmdutil.Usagef("cannot read the line: %v", err)
	}
	if len(words) == 0 {
		return nil
	}
	switch words[0] {
	case "exit", "quit":
		return errExit
	case "help":
		fmt.Fprintf(ios.ErrOut, "commands: %s (each with --help), watch on|off, help, exit\n", strings.Join(lineCommands, ", "))
		return nil
	case "watch":
		if len(words) != 2 || (words[1] != "on" && words[1] != "off") {
			return cmdutil.Usagef("watch on|off: print the notifications or not")
		}
		s.o.watching.Store(words[1] == "on")
		return nil
	}
	if !slices.Contains(lineCommands, words[0]) {
		return cmdutil.Usagef("%q is not a command of the shell: use %s, watch on|off, help or exit", words[0], strings.Join(lineCommands, ", "))
	}
	if words, err = s.mem.complete(words); err != nil {
		return err
	}
	args := append(words, s.connArgs(words)...)
	if jsonLines {
		args = append(args, "-o", "json")
	}
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case sig := <-s.signals:
			if sig == syscall.SIGTERM {
				os.Exit(cmdutil.ExitInterrupted)
			}
			cancel() // Ctrl-C: this line only
		case <-done:
		}
	}()
	root := s.o.tree(ios, args)
	root.SetArgs(args)
	return root.ExecuteContext(ctx)
}

// connArgs are the session's connection flags for a line's command: the
// thing unless the line names one, the endpoint, the client id and the
// output format.
func (s *session) connArgs(words []string) []string {
	o := &s.o.conn
	var args []string
	if !slices.ContainsFunc(words, func(w string) bool { return w == "-t" || w == "--thing" || strings.HasPrefix(w, "--thing=") }) {
		args = append(args, "-t", o.Thing)
	}
	args = append(args, "-e", o.Endpoint, "--client-id", o.ClientID)
	if o.Output != "" && !slices.Contains(words, "-o") && !slices.Contains(words, "--output") {
		args = append(args, "-o", o.Output)
	}
	return args
}

// privateHistory creates the history file at path, if it is not there,
// readable by its owner only: it holds what was typed, status details and
// all, and readline would create it 0666 less the umask. It returns path,
// or "" (no history kept) when it cannot.
func privateHistory(path string) string {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return ""
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDONLY, 0o600)
	if err != nil {
		return ""
	}
	f.Close()
	return path
}
