package shellcmd

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/iotjobs/iotjobs/internal/cmdutil"
	"github.com/iotjobs/iotjobs/internal/jobs"
)

// memory is what the session has seen of the thing's executions, from
// replies and notifications: the job in progress, and each job's last
// version, so that "update --status SUCCEEDED" acts on the job in progress
// and "--expected-version last" names the version last seen.
type memory struct {
	mu       sync.Mutex
	current  string           // the job id of the execution IN_PROGRESS, "" for none known
	versions map[string]int64 // the last versionNumber seen, by job id
}

func newMemory() *memory { return &memory{versions: map[string]int64{}} }

// jobIDs are the job ids seen, sorted.
func (m *memory) jobIDs() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	ids := make([]string, 0, len(m.versions))
	for id := range m.versions {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// execution notes one execution's status and version.
func (m *memory) execution(jobID string, status jobs.Status, version int64) {
	if jobID == "" {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if version > 0 {
		m.versions[jobID] = version
	}
	switch {
	case status == jobs.StatusInProgress:
		m.current = jobID
	case status != "" && m.current == jobID:
		m.current = ""
	}
}

// seen reads a reply (to a request on topic) or a notification.
func (m *memory) seen(topic jobs.Topic, payload []byte) {
	var p struct {
		Execution      *jobs.JobExecution                         `json:"execution"`
		ExecutionState *jobs.JobExecutionState                    `json:"executionState"`
		InProgress     []jobs.JobExecutionSummary                 `json:"inProgressJobs"`
		Queued         []jobs.JobExecutionSummary                 `json:"queuedJobs"`
		Jobs           map[jobs.Status][]jobs.JobExecutionSummary `json:"jobs"`
	}
	if json.Unmarshal(payload, &p) != nil {
		return
	}
	if x := p.Execution; x != nil {
		m.execution(x.JobID, x.Status, x.VersionNumber)
	}
	if st := p.ExecutionState; st != nil {
		m.execution(topic.JobID, st.Status, st.VersionNumber)
	}
	for _, x := range p.InProgress {
		m.execution(x.JobID, jobs.StatusInProgress, x.VersionNumber)
	}
	for _, x := range p.Queued {
		m.execution(x.JobID, jobs.StatusQueued, x.VersionNumber)
	}
	for status, list := range p.Jobs {
		for _, x := range list {
			m.execution(x.JobID, status, x.VersionNumber)
		}
	}
}

// complete fills in an update line from memory: the job in progress when
// the line names none, the version last seen for --expected-version last,
// and --include-job-execution-state, so that the reply tells the session
// the new version.
func (m *memory) complete(words []string) ([]string, error) {
	if words[0] != "update" {
		return words, nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	out := slices.Clone(words)
	if len(out) == 1 || strings.HasPrefix(out[1], "-") {
		if m.current == "" {
			return nil, cmdutil.Usagef("no job id given, and no execution IN_PROGRESS seen in this session: name the job (update JOB-ID ...), or run start-next first")
		}
		out = slices.Insert(out, 1, m.current)
	}
	jobID := out[1]
	for i, w := range out {
		at := -1 // the word holding "last"
		switch {
		case w == "--expected-version=last":
			at = i
		case w == "--expected-version" && i+1 < len(out) && out[i+1] == "last":
			at = i + 1
		}
		if at < 0 {
			continue
		}
		v, ok := m.versions[jobID]
		if !ok {
			return nil, cmdutil.Usagef("--expected-version last: no version of job %s seen in this session; describe it first", jobID)
		}
		out[at] = strings.Replace(out[at], "last", strconv.FormatInt(v, 10), 1)
	}
	if !slices.Contains(out, "--include-job-execution-state") {
		out = append(out, "--include-job-execution-state")
	}
	return out, nil
}
