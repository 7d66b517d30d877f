package storetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/brazenhq/brazen/internal/brazen"
)

var partitionTests = []storeTest{
	{"Partitions/Numbering", testPartitionNumbering},
	{"Partitions/AppliedPositions", testPartitionPositions},
	{"Partitions/After", testPartitionAfter},
	{"Leases/ClaimAndRelease", testLeaseClaim},
	{"Leases/ExpiryAndFencing", testLeaseExpiry},
	{"Leases/Heartbeat", testHeartbeat},
	{"Profiles/Versions", testProfileVersions},
	{"Profiles/Scan", testScanProfiles},
}

// testPartitionNumbering: records go to their partitions, numbered in
// order within each.
func testPartitionNumbering(t *testing.T, s brazen.Store) {
	n := s.Partitions()
	if n < 1 {
		t.Fatalf("Partitions() = %d", n)
	}
	var recs []brazen.LogRecord
	for i := range 3 * n {
		recs = append(recs, brazen.LogRecord{Partition: (i * 7) % n, Data: fmt.Appendf(nil, "r%d", i)})
	}
	if err := s.AppendLog(t.Context(), recs); err != nil {
		t.Fatalf("AppendLog: %v", err)
	}
	if err := s.AppendLog(t.Context(), []brazen.LogRecord{{Partition: n - 1, Data: []byte("last")}}); err != nil {
		t.Fatalf("AppendLog: %v", err)
	}
	heads, err := s.LogHeads(t.Context())
	if err != nil || len(heads) != n {
		t.Fatalf("LogHeads = %v, %v; want %d heads", heads, err, n)
	}
	for p := range n {
		var want []string
		last := int64(0)
		for _, r := range recs {
			if r.Partition == p {
				if r.Seq <= last {
					t.Errorf("partition %d: Seq %d after %d", p, r.Seq, last)
				}
				last = r.Seq
				want = append(want, string(r.Data))
			}
		}
		if p == n-1 {
			want = append(want, "last")
		}
		got, err := s.ReadLog(t.Context(), p, 0, 1000)
		if err != nil {
			t.Fatalf("ReadLog(%d): %v", p, err)
		}
		var data []string
		for _, r := range got {
			if r.Partition != p {
				t.Errorf("ReadLog(%d) returned a record of partition %d", p, r.Partition)
			}
			data = append(data, string(r.Data))
		}
		if !slices.Equal(data, want) {
			t.Errorf("ReadLog(%d) = %q, want %q", p, data, want)
		}
		if len(got) > 0 && heads[p] != got[len(got)-1].Seq {
			t.Errorf("LogHeads[%d] = %d, want %d", p, heads[p], got[len(got)-1].Seq)
		}
	}
}

// testPartitionAfter: each record knows every partition's head before it,
// counting records committed earlier and those before it in its own call.
func testPartitionAfter(t *testing.T, s brazen.Store) {
	n := s.Partitions()
	if n == 1 {
		t.Skip("one partition: nothing to order across")
	}
	ctx := t.Context()
	first := []brazen.LogRecord{{Partition: 1, Data: []byte("a")}, {Partition: 0, Data: []byte("b")}, {Partition: 1, Data: []byte("c")}}
	second := []brazen.LogRecord{{Partition: n - 1, Data: []byte("d")}, {Partition: 0, Data: []byte("e")}}
	for _, recs := range [][]brazen.LogRecord{first, second} {
		if err := s.AppendLog(ctx, recs); err != nil {
			t.Fatalf("AppendLog: %v", err)
		}
	}
	a, b, c, d, e := first[0], first[1], first[2], second[0], second[1]
	want := func(heads map[int]int64) []int64 {
		out := make([]int64, n)
		for p, h := range heads {
			out[p] = h
		}
		return out
	}
	for _, tt := range []struct {
		name string
		rec  brazen.LogRecord
		want []int64
	}{
		{"a", a, want(nil)},
		{"b", b, want(map[int]int64{1: a.Seq})},
		{"c", c, want(map[int]int64{0: b.Seq, 1: a.Seq})},
		{"d", d, want(map[int]int64{0: b.Seq, 1: c.Seq})},
		{"e", e, want(map[int]int64{0: b.Seq, 1: c.Seq, n - 1: d.Seq})},
	} {
		if !slices.Equal(tt.rec.After, tt.want) {
			t.Errorf("record %s: After = %v, want %v", tt.name, tt.rec.After, tt.want)
		}
		got, err := s.ReadLog(ctx, tt.rec.Partition, tt.rec.Seq-1, 1)
		if err != nil || len(got) != 1 || !slices.Equal(got[0].After, tt.want) {
			t.Errorf("record %s read back: %+v, %v; want After %v", tt.name, got, err, tt.want)
		}
	}
}

func lease(t *testing.T, s brazen.Store, node string, ttl time.Duration, want, partition int) brazen.Lease {
	t.Helper()
	held, err := s.ClaimLeases(t.Context(), node, ttl, want)
	if err != nil {
		t.Fatalf("ClaimLeases(%s): %v", node, err)
	}
	for _, l := range held {
		if l.Partition == partition {
			return l
		}
	}
	t.Fatalf("%s does not hold partition %d: %v", node, partition, held)
	return brazen.Lease{}
}

// testPartitionPositions: applying one partition moves its position only.
func testPartitionPositions(t *testing.T, s brazen.Store) {
	n := s.Partitions()
	p := n - 1
	l := lease(t, s, "a", time.Minute, n, p)
	if err := s.Apply(t.Context(), l, func(brazen.UserTx) (int64, error) { return 5, nil }); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	pos, err := s.AppliedPositions(t.Context())
	if err != nil || len(pos) != n {
		t.Fatalf("AppliedPositions = %v, %v", pos, err)
	}
	for i, v := range pos {
		if want := map[bool]int64{true: 5, false: 0}[i == p]; v != want {
			t.Errorf("AppliedPositions[%d] = %d, want %d", i, v, want)
		}
	}
}

func partitionsOf(ls []brazen.Lease) []int {
	var out []int
	for _, l := range ls {
		out = append(out, l.Partition)
	}
	return out
}

// testLeaseClaim: a held lease is not claimed by another node until it is
// released; a new owner gets a new epoch.
func testLeaseClaim(t *testing.T, s brazen.Store) {
	n := s.Partitions()
	ctx := t.Context()
	a, err := s.ClaimLeases(ctx, "a", time.Minute, n)
	if err != nil || len(a) != n {
		t.Fatalf("ClaimLeases(a, want %d) = %v, %v", n, a, err)
	}
	again, err := s.ClaimLeases(ctx, "a", time.Minute, n)
	if err != nil || !slices.Equal(again, a) {
		t.Errorf("renewing = %v, %v; want the same leases %v", again, err, a)
	}
	b, err := s.ClaimLeases(ctx, "b", time.Minute, n)
	if err != nil || len(b) != 0 {
		t.Errorf("ClaimLeases(b) while a holds everything = %v, %v; want none", b, err)
	}
	if err := s.ReleaseLeases(ctx, "b", []int{0}); err != nil {
		t.Errorf("releasing a lease one does not hold: %v", err)
	}
	if err := s.ReleaseLeases(ctx, "a", []int{0}); err != nil {
		t.Fatalf("ReleaseLeases: %v", err)
	}
	b, err = s.ClaimLeases(ctx, "b", time.Minute, 1)
	if err != nil || len(b) != 1 || b[0].Partition != 0 || b[0].Epoch <= a[0].Epoch {
		t.Fatalf("ClaimLeases(b) after a released 0 = %v, %v; want partition 0 with an epoch above %d", b, err, a[0].Epoch)
	}
	held, err := s.ClaimLeases(ctx, "a", time.Minute, n)
	if err != nil || slices.Contains(partitionsOf(held), 0) || len(held) != n-1 {
		t.Errorf("a after giving 0 away holds %v, %v", partitionsOf(held), err)
	}
	// The old lease no longer applies.
	err = s.Apply(ctx, a[0], func(brazen.UserTx) (int64, error) { return 1, nil })
	if !errors.Is(err, brazen.ErrLeaseLost) {
		t.Errorf("Apply under a released lease = %v, want ErrLeaseLost", err)
	}
	if err := s.Apply(ctx, b[0], func(brazen.UserTx) (int64, error) { return 1, nil }); err != nil {
		t.Errorf("Apply under the new lease: %v", err)
	}
}

// testLeaseExpiry: a lease not renewed expires and another node takes it
// over; the old owner's batch in flight is fenced off and writes nothing.
func testLeaseExpiry(t *testing.T, s brazen.Store) {
	ctx := t.Context()
	old := lease(t, s, "a", 300*time.Millisecond, 1, 0)
	time.Sleep(400 * time.Millisecond)
	taken := lease(t, s, "b", time.Minute, 1, 0)
	if taken.Epoch <= old.Epoch {
		t.Errorf("the new owner's epoch %d is not above the old %d", taken.Epoch, old.Epoch)
	}
	p := profile("fenced", base)
	err := s.Apply(ctx, old, func(tx brazen.UserTx) (int64, error) {
		return 7, tx.PutProfile(ctx, p, true)
	})
	if !errors.Is(err, brazen.ErrLeaseLost) {
		t.Fatalf("Apply by the expired owner = %v, want ErrLeaseLost", err)
	}
	if _, err := s.Profile(ctx, p.BrazeID); !brazen.IsNotFound(err) {
		t.Errorf("the fenced batch's profile: %v, want not found", err)
	}
	if pos, _ := Applied(ctx, s); pos != 0 {
		t.Errorf("the fenced batch moved the position to %d", pos)
	}
	held, err := s.ClaimLeases(ctx, "a", time.Minute, 0)
	if err != nil || slices.Contains(partitionsOf(held), 0) {
		t.Errorf("the expired owner still holds %v, %v", held, err)
	}
}

func testHeartbeat(t *testing.T, s brazen.Store) {
	ctx := t.Context()
	beat := func(node string, ttl time.Duration, want ...string) {
		t.Helper()
		live, err := s.Heartbeat(ctx, node, ttl)
		if err != nil || !slices.Equal(live, want) {
			t.Errorf("Heartbeat(%s, %s) = %q, %v; want %q", node, ttl, live, err, want)
		}
	}
	beat("b", time.Minute, "b")
	beat("a", 200*time.Millisecond, "a", "b")
	beat("b", time.Minute, "a", "b")
	time.Sleep(300 * time.Millisecond)
	beat("b", time.Minute, "b") // a expired
	beat("c", time.Minute, "b", "c")
	beat("c", 0, "b") // c leaves
	beat("b", time.Minute, "b")
}

// testScanProfiles: pages of profiles in braze id order cover every
// profile once.
func testScanProfiles(t *testing.T, s brazen.Store) {
	var want []string
	var ps []*brazen.Profile
	for i := range 25 {
		p := profile(fmt.Sprintf("%024x", 1000+i*7919), base)
		ps = append(ps, p)
		want = append(want, p.BrazeID)
	}
	putProfiles(t, s, false, ps...)
	slices.Sort(want)
	var got []string
	after := ""
	for {
		page, err := s.ScanProfiles(t.Context(), after, 10)
		if err != nil {
			t.Fatalf("ScanProfiles(%q): %v", after, err)
		}
		if len(page) > 10 {
			t.Fatalf("a page of %d, over the limit", len(page))
		}
		for _, p := range page {
			got = append(got, p.BrazeID)
		}
		if len(page) < 10 {
			break
		}
		after = page[len(page)-1].BrazeID
	}
	if !slices.Equal(got, want) {
		t.Errorf("scanned %v, want %v", got, want)
	}
}
