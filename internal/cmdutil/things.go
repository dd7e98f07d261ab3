package cmdutil

import (
	"bufio"
	"io"
	"os"
	"strings"
)

// ReadThings reads a things file (--things): a name per line, blank lines and #
// comments ignored.
func ReadThings(path string, stdin io.Reader) ([]string, error) {
	r := stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, Usagef("read --things: %v", err)
		}
		defer f.Close()
		r = f
	}
	var names []string
	scanner := bufio.NewScanner(r)
	for scanner.Scan() {
		line, _, _ := strings.Cut(scanner.Text(), "#")
		if line = strings.TrimSpace(line); line != "" {
			names = append(names, line)
		}
	}
	if err := scanner.Err(); err != nil {
		return nil, Usagef("read --things %s: %v", path, err)
	}
	return names, nil
}
