package runcmd

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// deviceClientDoc is an AWS IoT Device Client job document, schema "1.0"
// (awslabs/aws-iot-device-client, source/jobs/README.md): steps run in
// order, each stopping the job when it fails unless ignoreStepFailure is
// "true", and finalStep only when every step succeeded.
type deviceClientDoc struct {
	Version       string `json:"version"`
	IncludeStdOut bool   `json:"includeStdOut"`
	Steps         []struct {
		Action deviceClientAction `json:"action"`
	} `json:"steps"`
	FinalStep *struct {
		Action deviceClientAction `json:"action"`
	} `json:"finalStep"`
}

type deviceClientAction struct {
	Name              string `json:"name"`
	Type              string `json:"type"`
	RunAsUser         string `json:"runAsUser"`
	IgnoreStepFailure string `json:"ignoreStepFailure"`
	AllowStdErr       *int   `json:"allowStdErr"`
	Input             struct {
		Handler string   `json:"handler"`
		Args    []string `json:"args"`
		Path    string   `json:"path"`
		Command string   `json:"command"`
	} `json:"input"`
}

// parseDeviceClientDoc reads doc as a Device Client document; ok is false
// for any other document.
func parseDeviceClientDoc(doc []byte) (d deviceClientDoc, ok bool) {
	if json.Unmarshal(doc, &d) != nil || d.Version != "1.0" || len(d.Steps) == 0 {
		return deviceClientDoc{}, false
	}
	return d, true
}

// includeStdOut reports a Device Client document's includeStdOut.
func includeStdOut(doc []byte) bool {
	d, ok := parseDeviceClientDoc(doc)
	return ok && d.IncludeStdOut
}

// plan is what a job runs: with --handler-dir, a Device Client document's
// steps and final step (dc); otherwise the --exec handler. A document the
// runner cannot run gives a refused step, which fails the job with why.
func (r *runner) plan(doc []byte) (steps []step, final *step, dc bool) {
	o := r.o
	if o.sim != nil {
		return []step{{name: "simulated", simulate: true}}, nil, false
	}
	if d, ok := parseDeviceClientDoc(doc); ok && o.HandlerDir != "" {
		for i, s := range d.Steps {
			steps = append(steps, r.deviceClientStep(i+1, s.Action))
		}
		if d.FinalStep != nil {
			f := r.deviceClientStep(0, d.FinalStep.Action)
			final = &f
		}
		return steps, final, true
	}
	if o.Exec == "" {
		return []step{{name: "the job", refused: "not a Device Client job document (\"version\": \"1.0\" with steps), and no --exec handler for it"}}, nil, false
	}
	return []step{{name: o.Exec, argv: []string{"/bin/sh", "-c", o.Exec}}}, nil, false
}

// deviceClientStep is the step of action (number n; 0 for the final step).
// runHandler runs HANDLER from --handler-dir (or the action's path) with
// runAsUser and then args as its arguments, as the Device Client does; the
// handler must be a plain name of a file neither it nor its directory
// writable by group or others. runCommand runs the comma-separated
// command (a comma in an argument written \,) only when its program is on
// the --allow list. runAsUser is passed on, not switched to.
func (r *runner) deviceClientStep(n int, a deviceClientAction) step {
	name := a.Name
	if name == "" {
		name = fmt.Sprint(n)
		if n == 0 {
			name = "final"
		}
	}
	s := step{name: name, ignoreFailure: a.IgnoreStepFailure == "true", allowStdErr: a.AllowStdErr}
	switch a.Type {
	case "runHandler":
		path, err := r.handlerPath(a.Input.Handler, a.Input.Path)
		if err != nil {
			s.refused = err.Error()
			return s
		}
		s.argv = append([]string{path, a.RunAsUser}, a.Input.Args...)
	case "runCommand":
		argv := splitCommand(a.Input.Command)
		switch {
		case len(argv) == 0 || argv[0] == "":
			s.refused = "runCommand without a command"
		case !slices.Contains(r.o.Allow, argv[0]):
			s.refused = fmt.Sprintf("runCommand %q is not on the --allow list", argv[0])
		default:
			s.argv = argv
		}
	default:
		s.refused = fmt.Sprintf("action type %q: the runner knows runHandler and runCommand", a.Type)
	}
	return s
}

// handlerPath finds a runHandler's handler, refusing what would let
// anyone but its owner change what runs.
func (r *runner) handlerPath(handler, dir string) (string, error) {
	if handler == "" || strings.ContainsRune(handler, '/') || handler == "." || handler == ".." {
		return "", fmt.Errorf("handler %q: want the plain name of a file in the handler directory", handler)
	}
	if dir == "" || dir == "default" {
		dir = r.o.HandlerDir
	}
	path := filepath.Join(dir, handler)
	for _, p := range []string{dir, path} {
		info, err := os.Stat(p)
		if err != nil {
			return "", fmt.Errorf("handler %s: %v", path, err)
		}
		if info.Mode().Perm()&0o022 != 0 {
			return "", fmt.Errorf("%s is writable by group or others (mode %s): refused, as the Device Client refuses it", p, info.Mode().Perm())
		}
	}
	return path, nil
}

// splitCommand splits a runCommand command at its commas; "\," is a comma
// inside an argument.
func splitCommand(command string) []string {
	if command == "" {
		return nil
	}
	var argv []string
	var b strings.Builder
	for i := 0; i < len(command); i++ {
		switch {
		case command[i] == '\\' && i+1 < len(command) && command[i+1] == ',':
			b.WriteByte(',')
			i++
		case command[i] == ',':
			argv = append(argv, b.String())
			b.Reset()
		default:
			b.WriteByte(command[i])
		}
	}
	return append(argv, b.String())
}
