package devicecmd_test

import (
	"testing"

	"github.com/iotjobs/iotjobs/internal/iotapi"
	"github.com/iotjobs/iotjobs/internal/testutil"
)

// A job with retries: the failed execution comes back as number 2, which
// describe and update address by default or by number, and a wait that
// began on number 1 ends with number 2's outcome.
func TestRetriedExecutionThroughTheCLI(t *testing.T) {
	for name, opts := range emulators() {
		t.Run(name, func(t *testing.T) {
			emu := testutil.StartEmulator(t, opts...)
			_, err := emu.Engine().CreateJob(iotapi.CreateJobInput{JobID: "fw", Targets: []string{"thing-1"}, Document: `{"op":"fw"}`,
				JobExecutionsRetryConfig: &iotapi.JobExecutionsRetryConfig{CriteriaList: []iotapi.RetryCriteria{{FailureType: "FAILED", NumberOfRetries: 1}}}})
			if err != nil {
				t.Fatal(err)
			}
			conn := []string{"-t", "thing-1", "-e", emu.Endpoint}
			p := startWait(t, emu, "fw", "--until", "terminal", "--timeout", "30s")
			testutil.WantExit(t, iotjobs.Run(t, nil, append(conn, "update", "fw", "--status", "FAILED")...), 0)

			r := iotjobs.Run(t, nil, append(conn, "describe", "fw")...)
			testutil.WantExit(t, r, 0)
			if m := testutil.Reply(t, r); testutil.Path(m, "execution", "executionNumber") != 2.0 || testutil.Path(m, "execution", "status") != "QUEUED" {
				t.Fatalf("describe after the failure: %v", m)
			}
			r = iotjobs.Run(t, nil, append(conn, "describe", "fw", "--execution-number", "1")...)
			testutil.WantExit(t, r, 18) // TerminalStateReached
			r = iotjobs.Run(t, nil, append(conn, "update", "fw", "--execution-number", "1", "--status", "SUCCEEDED")...)
			if r.ExitCode == 0 {
				t.Errorf("update of the failed #1 was accepted:\n%s", r)
			}
			testutil.WantExit(t, iotjobs.Run(t, nil, append(conn, "start-next")...), 0)
			testutil.WantExit(t, iotjobs.Run(t, nil, append(conn, "update", "fw", "--execution-number", "2", "--status", "SUCCEEDED")...), 0)

			r = p.Wait(t)
			testutil.WantExit(t, r, 0)
			if m := testutil.Reply(t, r); testutil.Path(m, "execution", "status") != "SUCCEEDED" {
				t.Errorf("wait printed %v", m)
			}
		})
	}
}
