package iostreams

import (
	"bytes"
	"testing"

	"github.com/fatih/color"
)

// TestColourDecision covers the environment rules with pipes (not
// terminals) and, through SetTTY, terminals.
func TestColourDecision(t *testing.T) {
	tests := []struct {
		name                string
		env                 map[string]string
		tty, noColorFlag    bool
		wantStdout, wantErr bool
	}{
		{name: "pipe", wantStdout: false, wantErr: false},
		{name: "terminal", tty: true, wantStdout: true, wantErr: true},
		{name: "terminal, NO_COLOR", env: map[string]string{"NO_COLOR": "1"}, tty: true},
		{name: "terminal, TERM=dumb", env: map[string]string{"TERM": "dumb"}, tty: true},
		{name: "terminal, --no-color", tty: true, noColorFlag: true},
		{name: "pipe, CLICOLOR_FORCE", env: map[string]string{"CLICOLOR_FORCE": "1"}, wantStdout: true, wantErr: true},
		{name: "pipe, CLICOLOR_FORCE=0", env: map[string]string{"CLICOLOR_FORCE": "0"}},
		{name: "NO_COLOR beats CLICOLOR_FORCE", env: map[string]string{"NO_COLOR": "1", "CLICOLOR_FORCE": "1"}, tty: true},
		{name: "--no-color beats CLICOLOR_FORCE", env: map[string]string{"CLICOLOR_FORCE": "1"}, noColorFlag: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range []string{"NO_COLOR", "CLICOLOR_FORCE", "TERM"} {
				t.Setenv(k, tt.env[k])
			}
			ios := System(&bytes.Buffer{}, &bytes.Buffer{}, &bytes.Buffer{})
			if ios.IsStdoutTTY() || ios.IsStderrTTY() {
				t.Fatal("buffers taken for terminals")
			}
			if tt.tty {
				ios.SetTTY(true, true)
			}
			ios.SetNoColor(tt.noColorFlag)
			if got := ios.ColorOnStdout(); got != tt.wantStdout {
				t.Errorf("ColorOnStdout = %v, want %v", got, tt.wantStdout)
			}
			if got := ios.ColorOnStderr(); got != tt.wantErr {
				t.Errorf("ColorOnStderr = %v, want %v", got, tt.wantErr)
			}
			if color.NoColor == tt.wantErr {
				t.Errorf("fatih/color NoColor = %v, want it to follow stderr's decision", color.NoColor)
			}
		})
	}
}
