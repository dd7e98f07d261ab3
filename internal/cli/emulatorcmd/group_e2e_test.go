package emulatorcmd_test

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/iotjobs/iotjobs/internal/iotapi"
	"github.com/iotjobs/iotjobs/internal/testutil"
)

// `iotjobs emulator group ...` as the real binary against an emulator.

// members is what `group list NAME` prints, as a list.
func members(t *testing.T, emu *testutil.Emulator, group string) []string {
	t.Helper()
	r := ctl(t, emu, "group", "list", group)
	testutil.WantExit(t, r, 0)
	var things []string
	for _, thing := range testutil.Reply(t, r)["things"].([]any) {
		things = append(things, thing.(string))
	}
	return things
}

func TestGroupVerbsWalkthrough(t *testing.T) {
	emu := testutil.StartEmulator(t)

	created := testutil.Reply(t, ctl(t, emu, "group", "create", "fleet", "--description", "the lab"))
	if created["thingGroupName"] != "fleet" || created["thingGroupArn"] != iotapi.ThingGroupARN("fleet") || created["thingGroupId"] == "" {
		t.Errorf("group create printed %v", created)
	}
	// The same again changes nothing; another description is a conflict.
	testutil.WantExit(t, ctl(t, emu, "group", "create", "fleet", "--description", "the lab"), 0)
	r := ctl(t, emu, "group", "create", "fleet")
	testutil.WantExit(t, r, 19)
	if !strings.Contains(r.Stderr, "ResourceAlreadyExistsException") {
		t.Errorf("group create with another description:\n%s", r)
	}

	// 50 things from a file (comments, blank lines and a repeat), none
	// registered before, then two by argument, one of them already in.
	var file strings.Builder
	file.WriteString("# the bench\n\n")
	var want []string
	for i := range 50 {
		fmt.Fprintf(&file, "dev-%02d\n", i)
		want = append(want, fmt.Sprintf("dev-%02d", i))
	}
	file.WriteString("dev-00  # again\n")
	things := filepath.Join(t.TempDir(), "things.txt")
	testutil.WriteFile(t, things, file.String())
	added := testutil.Reply(t, ctl(t, emu, "group", "add", "fleet", "--things", things))
	if added["thingGroupName"] != "fleet" || added["added"] != 50.0 {
		t.Errorf("group add --things printed %v", added)
	}
	added = testutil.Reply(t, ctl(t, emu, "group", "add", "fleet", "dev-00", "extra-1"))
	if added["added"] != 2.0 {
		t.Errorf("group add by argument printed %v", added)
	}
	want = append(want, "extra-1")
	if got := members(t, emu, "fleet"); !slices.Equal(got, want) {
		t.Errorf("group list: %v, want %v", got, want)
	}
	if thing, err := emu.Engine().DescribeThing("extra-1"); err != nil || thing.ThingName != "extra-1" {
		t.Errorf("group add did not register extra-1: %v %v", thing, err)
	}

	// A thing registered with attributes is added as it is.
	if _, err := emu.Engine().CreateThing(iotapi.CreateThingInput{ThingName: "tagged",
		AttributePayload: &iotapi.AttributePayload{Attributes: map[string]string{"site": "lab"}}}); err != nil {
		t.Fatal(err)
	}
	testutil.WantExit(t, ctl(t, emu, "group", "add", "fleet", "tagged"), 0)

	removed := testutil.Reply(t, ctl(t, emu, "group", "remove", "fleet", "dev-01", "dev-02", "tagged"))
	if removed["thingGroupName"] != "fleet" || removed["removed"] != 3.0 || removed["added"] != nil {
		t.Errorf("group remove printed %v", removed)
	}
	if got := members(t, emu, "fleet"); len(got) != 49 || slices.Contains(got, "dev-01") || slices.Contains(got, "tagged") {
		t.Errorf("after group remove: %v", got)
	}

	g := testutil.Reply(t, ctl(t, emu, "group", "describe", "fleet"))
	if g["thingGroupName"] != "fleet" || testutil.Path(g, "thingGroupProperties", "thingGroupDescription") != "the lab" || g["status"] != "ACTIVE" {
		t.Errorf("group describe printed %v", g)
	}

	wantQuiet(t, ctl(t, emu, "group", "delete", "fleet"))
	r = ctl(t, emu, "group", "describe", "fleet")
	testutil.WantExit(t, r, 14)
	if !strings.Contains(r.Stderr, "ResourceNotFoundException: No thing group named fleet") {
		t.Errorf("describe after delete:\n%s", r)
	}
	// The things stay registered, in no group.
	if thing, err := emu.Engine().DescribeThing("dev-03"); err != nil || thing.ThingName != "dev-03" {
		t.Errorf("group delete unregistered dev-03: %v", err)
	}
}

// TestGroupVerbsOnATerminal: 500 things piped in, the sentences and tables
// a person reads, every page listed.
func TestGroupVerbsOnATerminal(t *testing.T) {
	emu := testutil.StartEmulator(t)
	out, _ := ctlOnTerminal(t, emu, "", "group", "create", "big", "--description", "many")
	wantLines(t, out, "GROUP big", "ARN "+iotapi.ThingGroupARN("big"))
	out, _ = ctlOnTerminal(t, emu, "", "group", "list", "big")
	wantLines(t, out, "no things in thing group big")

	var names strings.Builder
	for i := range 500 {
		fmt.Fprintf(&names, "dev-%03d\n", i)
	}
	out, _ = ctlOnTerminal(t, emu, names.String(), "group", "add", "big", "--things", "-")
	wantLines(t, out, "added 500 things to thing group big")
	out, _ = ctlOnTerminal(t, emu, "", "group", "remove", "big", "dev-000")
	wantLines(t, out, "removed 1 thing from thing group big")

	out, _ = ctlOnTerminal(t, emu, "", "group", "list", "big")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 500 || lines[0] != "THING" || lines[499] != "dev-499" {
		t.Errorf("group list on a terminal: %d lines, want THING and 499 things (two pages)", len(lines))
	}
	out, _ = ctlOnTerminal(t, emu, "", "group", "describe", "big")
	wantLines(t, out, "GROUP big", "DESCRIPTION many", "VERSION 1", "STATUS ACTIVE")
	out, stderr := ctlOnTerminal(t, emu, "", "group", "delete", "big")
	if out != "" || !strings.Contains(stderr, "deleted thing group big") {
		t.Errorf("group delete on a terminal: stdout %q, stderr %q", out, stderr)
	}
}

// TestGroupContinuousJob: a continuous job targeting the group runs on a
// thing added after it, and its execution is REMOVED when the thing leaves.
func TestGroupContinuousJob(t *testing.T) {
	emu := testutil.StartEmulator(t)
	testutil.WantExit(t, ctl(t, emu, "group", "create", "fleet"), 0)
	testutil.WantExit(t, ctl(t, emu, "group", "add", "fleet", "dev-1"), 0)
	testutil.WantExit(t, ctl(t, emu, "create-job", "J", "--group", "fleet", "--continuous", "--document", "{}"), 0)

	status := func(thing string) any {
		t.Helper()
		r := ctl(t, emu, "describe-execution", "J", "-t", thing)
		testutil.WantExit(t, r, 0)
		return testutil.Path(testutil.Reply(t, r), "execution", "status")
	}
	r := ctl(t, emu, "describe-execution", "J", "-t", "late")
	testutil.WantExit(t, r, 14)
	testutil.WantExit(t, ctl(t, emu, "group", "add", "fleet", "late"), 0)
	if s := status("late"); s != "QUEUED" {
		t.Errorf("a thing added after the continuous job: %v, want QUEUED", s)
	}
	testutil.WantExit(t, ctl(t, emu, "group", "remove", "fleet", "late"), 0)
	if s := status("late"); s != "REMOVED" {
		t.Errorf("a thing removed from the group: %v, want REMOVED", s)
	}
	// Deleting the group removes its members first.
	wantQuiet(t, ctl(t, emu, "group", "delete", "fleet"))
	if s := status("dev-1"); s != "REMOVED" {
		t.Errorf("a member of a deleted group: %v, want REMOVED", s)
	}
}

// TestGroupVerbsServiceErrors: the control plane's refusals have their
// exit codes and a message that says what to do.
func TestGroupVerbsServiceErrors(t *testing.T) {
	emu := testutil.StartEmulator(t)

	r := ctl(t, emu, "group", "add", "nowhere", "dev-1", "dev-2")
	testutil.WantExit(t, r, 14)
	if r.Stdout != "" || !strings.Contains(r.Stderr, "ResourceNotFoundException: No thing group named nowhere; create it first: iotjobs emulator group create nowhere") {
		t.Errorf("group add to an unknown group:\n%s", r)
	}
	if _, err := emu.Engine().DescribeThing("dev-1"); err == nil {
		t.Error("group add to an unknown group registered dev-1")
	}
	r = ctl(t, emu, "group", "list", "nowhere")
	testutil.WantExit(t, r, 14)

	// The 11th group of a thing: InvalidRequest, after the things before it.
	for i := range 11 {
		testutil.WantExit(t, ctl(t, emu, "group", "create", fmt.Sprintf("g%d", i)), 0)
	}
	for i := range 10 {
		testutil.WantExit(t, ctl(t, emu, "group", "add", fmt.Sprintf("g%d", i), "busy"), 0)
	}
	r = ctl(t, emu, "group", "add", "g10", "free", "busy", "other")
	testutil.WantExit(t, r, 12)
	if r.Stdout != "" || !strings.Contains(r.Stderr, "add busy to thing group g10 (1 of 3 added before): InvalidRequestException: Thing busy is in 10 thing groups already") {
		t.Errorf("the 11th group:\n%s", r)
	}
	if got := members(t, emu, "g10"); !slices.Equal(got, []string{"free"}) {
		t.Errorf("g10 holds %v, want [free]: the add stops at the failure", got)
	}

	r = ctl(t, emu, "group", "remove", "g10", "ghost")
	testutil.WantExit(t, r, 14)
	if !strings.Contains(r.Stderr, "remove ghost from thing group g10 (0 of 1 removed before): ResourceNotFoundException") {
		t.Errorf("group remove of an unregistered thing:\n%s", r)
	}
}

func TestGroupVerbsBadInputExit2AndSendNothing(t *testing.T) {
	emu := testutil.StartEmulator(t)
	bad := filepath.Join(t.TempDir(), "bad.txt")
	testutil.WriteFile(t, bad, "dev-1\ndev+2\n")
	missing := filepath.Join(t.TempDir(), "missing.txt")
	for _, tc := range []struct {
		name, want string
		args       []string
	}{
		{"bad group to create", `invalid <group>: thing group name "a/b" must be 1 to 128 of a-z, A-Z, 0-9, ':', '_' and '-'; e.g. iotjobs emulator group create fleet`, []string{"group", "create", "a/b"}},
		{"bad group to add to", `invalid <group>: thing group name "a/b"`, []string{"group", "add", "a/b", "dev-1"}},
		{"bad group to list", `invalid <group>`, []string{"group", "list", "a b"}},
		{"bad group to describe", `invalid <group>`, []string{"group", "describe", "a/b"}},
		{"bad group to delete", `invalid <group>`, []string{"group", "delete", "a/b"}},
		{"bad group to remove from", `invalid <group>`, []string{"group", "remove", "a/b", "dev-1"}},
		{"bad thing", `invalid thing name "dev/1": may contain only letters, digits, ':', '_' and '-'; e.g. iotjobs emulator group add fleet dev-1 dev-2`, []string{"group", "add", "fleet", "dev-1", "dev/1"}},
		{"bad thing in the file", `--things ` + bad + `: invalid thing name "dev+2"`, []string{"group", "add", "fleet", "--things", bad}},
		{"missing file", "read --things: open " + missing, []string{"group", "remove", "fleet", "--things", missing}},
		{"no group", "iotjobs emulator group add needs <group>; e.g. iotjobs emulator group add fleet dev-1 dev-2", []string{"group", "add"}},
		{"no things", "needs at least one <thing> after the group, or --things FILE; e.g. iotjobs emulator group remove fleet dev-2", []string{"group", "remove", "fleet"}},
		{"two groups", "takes one <group>", []string{"group", "describe", "a", "b"}},
		{"bad output", "--output", []string{"group", "list", "fleet", "-o", "yaml"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Against a dead address: had anything been sent, the exit
			// would be 3.
			dead := "http://" + testutil.FreeAddr(t)
			r := iotjobs.Run(t, []string{"IOTJOBS_EMULATOR=" + dead}, append([]string{"emulator"}, tc.args...)...)
			testutil.WantExit(t, r, 2)
			if r.Stdout != "" || !strings.Contains(r.Stderr, tc.want) {
				t.Fatalf("want %q on stderr and nothing on stdout\n%s", tc.want, r)
			}
			testutil.WantExit(t, ctl(t, emu, tc.args...), 2)
		})
	}
	if things, err := emu.Engine().ListThings(iotapi.ListThingsInput{}); err != nil || len(things.Things) != 0 {
		t.Errorf("refused input registered things: %v %v", things, err)
	}
}

func TestGroupVerbsHelp(t *testing.T) {
	for _, verb := range []string{"create", "add", "remove", "list", "describe", "delete"} {
		r := iotjobs.Run(t, []string{"IOTJOBS_EMULATOR=" + "http://" + testutil.FreeAddr(t)}, "emulator", "group", verb, "--help")
		testutil.WantExit(t, r, 0)
		if !strings.Contains(r.Stdout, "$ iotjobs emulator group "+verb+" ") {
			t.Errorf("group %s --help lacks examples:\n%s", verb, r.Stdout)
		}
	}
}

// TestGroupListWithoutAGroup: group list alone lists the groups
// (ListThingGroups, every page), --prefix filters them, and a group with
// --prefix is a usage error.
func TestGroupListWithoutAGroup(t *testing.T) {
	emu := testutil.StartEmulator(t)
	r := ctl(t, emu, "group", "list")
	testutil.WantExit(t, r, 0)
	if strings.TrimSpace(r.Stdout) != `{"thingGroups":[]}` {
		t.Errorf("no groups:\n%s", r)
	}
	var want []string
	for i := range 260 { // more than a page of the control plane (250)
		name := fmt.Sprintf("lab-%03d", i)
		if _, err := emu.Engine().CreateThingGroup(iotapi.CreateThingGroupInput{ThingGroupName: name}); err != nil {
			t.Fatal(err)
		}
		want = append(want, name)
	}
	testutil.WantExit(t, ctl(t, emu, "group", "create", "fleet"), 0)
	r = ctl(t, emu, "group", "list")
	testutil.WantExit(t, r, 0)
	var names []string
	for _, g := range testutil.Reply(t, r)["thingGroups"].([]any) {
		g := g.(map[string]any)
		if g["groupArn"] != iotapi.ThingGroupARN(g["groupName"].(string)) {
			t.Errorf("group %v", g)
		}
		names = append(names, g["groupName"].(string))
	}
	if !slices.Equal(names, append([]string{"fleet"}, want...)) {
		t.Errorf("group list: %d groups, first %v", len(names), names[:min(3, len(names))])
	}
	r = ctl(t, emu, "group", "list", "--prefix", "lab-25")
	testutil.WantExit(t, r, 0)
	if got := testutil.Reply(t, r)["thingGroups"].([]any); len(got) != 10 {
		t.Errorf("--prefix lab-25: %v", got)
	}
	r = ctl(t, emu, "group", "list", "fleet", "--prefix", "lab")
	testutil.WantExit(t, r, 2)
	if !strings.Contains(r.Stderr, "--prefix filters the list of groups, and the group fleet was given: give one or the other") {
		t.Errorf("a group and --prefix:\n%s", r)
	}
}
