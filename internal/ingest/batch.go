package ingest

import (
	"context"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/brazenhq/brazen/internal/brazen"
	"github.com/brazenhq/brazen/internal/profile"
)

// batch is one applier transaction: the profiles it changed (written once
// at flush), the events, purchases and rollups it adds, and an overlay of
// identifiers so that lookups see the batch's own changes before they reach
// the store.
type batch struct {
	ctx   context.Context
	tx    brazen.UserTx
	cache *profileCache
	now   time.Time

	dirty map[string]*entry // braze_id → changed profile
	// Overlay indexes: identifier → braze ids of dirty profiles that had it.
	// Entries may be stale; every hit is checked against the profile.
	byExt   map[string][]string
	byAlias map[brazen.Alias][]string
	byEmail map[string][]string
	byPhone map[string][]string

	// Prefetched: the profiles the batch's external ids named when it
	// began (pre, by external id) and the ids that named nobody (absent).
	pre    map[string]*brazen.Profile
	preBID map[string]*brazen.Profile
	absent map[string]bool

	events    []brazen.EventRecord
	purchases []brazen.PurchaseRecord
	rollups   map[rollupKey]*brazen.Rollup
	moves     [][2]string // activity to move, from → to, before deletes
}

type entry struct {
	p        *brazen.Profile
	deleted  bool
	identity bool // aliases or deprecated ids changed
}

type rollupKey struct{ kind, name, day string }

func newBatch(ctx context.Context, tx brazen.UserTx, cache *profileCache, now time.Time) *batch {
	return &batch{
		ctx: ctx, tx: tx, cache: cache, now: now,
		dirty: map[string]*entry{}, byExt: map[string][]string{}, byAlias: map[brazen.Alias][]string{},
		byEmail: map[string][]string{}, byPhone: map[string][]string{}, rollups: map[rollupKey]*brazen.Rollup{},
	}
}

// prefetch loads, in bulk, the profiles named by the external ids of ops,
// so that applying them costs no lookup per operation, and notes the ids
// that name nobody, so that a new user costs no lookup either.
func (b *batch) prefetch(ops [][]Op) error {
	seen := map[string]bool{}
	var ids []string
	add := func(id string) {
		if id != "" && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	for _, rec := range ops {
		for i := range rec {
			add(rec[i].ID.ExternalID)
			if t := rec[i].Target; t != nil {
				add(t.ExternalID)
			}
			add(rec[i].NewExternalID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	found, err := b.tx.ProfilesByExternalID(b.ctx, ids)
	if err != nil {
		return err
	}
	b.pre, b.preBID, b.absent = map[string]*brazen.Profile{}, map[string]*brazen.Profile{}, map[string]bool{}
	for _, id := range ids {
		p := found[id]
		if p == nil {
			b.absent[id] = true
			continue
		}
		if c := b.cache.get(p.BrazeID); c != nil {
			if c.Version == p.Version {
				p = c // the cached copy is the same state, and may already be shared
			} else {
				b.cache.remove(p.BrazeID) // another partition's applier changed it
			}
		}
		b.pre[id] = p
		b.preBID[p.BrazeID] = p
	}
	return nil
}

// load returns the current profile with a braze id, nil if there is none.
func (b *batch) load(id string) (*brazen.Profile, error) {
	if e, ok := b.dirty[id]; ok {
		if e.deleted {
			return nil, nil
		}
		return e.p, nil
	}
	if p := b.cache.get(id); p != nil {
		return p, nil
	}
	if p := b.preBID[id]; p != nil {
		return p, nil
	}
	p, err := b.tx.Profile(b.ctx, id)
	if brazen.IsNotFound(err) {
		return nil, nil
	}
	return p, err
}

// touch records that p changed in this batch.
func (b *batch) touch(p *brazen.Profile, identity bool) {
	e := b.dirty[p.BrazeID]
	if e == nil {
		e = &entry{p: p}
		b.dirty[p.BrazeID] = e
	}
	e.p, e.deleted = p, false
	e.identity = e.identity || identity
	if p.ExternalID != "" {
		b.byExt[p.ExternalID] = appendOnce(b.byExt[p.ExternalID], p.BrazeID)
	}
	for _, d := range p.Deprecated {
		b.byExt[d] = appendOnce(b.byExt[d], p.BrazeID)
	}
	for _, a := range p.Aliases {
		b.byAlias[a] = appendOnce(b.byAlias[a], p.BrazeID)
	}
	if p.Email != "" {
		k := strings.ToLower(p.Email)
		b.byEmail[k] = appendOnce(b.byEmail[k], p.BrazeID)
	}
	if p.Phone != "" {
		b.byPhone[p.Phone] = appendOnce(b.byPhone[p.Phone], p.BrazeID)
	}
}

func (b *batch) remove(p *brazen.Profile) {
	b.dirty[p.BrazeID] = &entry{p: p, deleted: true}
}

var errNobody = brazen.Errorf(brazen.ENOTFOUND, "no such user")

func appendOnce(list []string, id string) []string {
	if slices.Contains(list, id) {
		return list
	}
	return append(list, id)
}

func hasExternalID(p *brazen.Profile, id string) bool {
	return p.ExternalID == id || slices.Contains(p.Deprecated, id)
}

func hasAlias(p *brazen.Profile, a brazen.Alias) bool { return slices.Contains(p.Aliases, a) }

// resolve finds the one profile an identifier names, nil if none (or, for
// email and phone, if the prioritization leaves more than one).
func (b *batch) resolve(id brazen.Identifier) (*brazen.Profile, error) {
	switch {
	case id.BrazeID != "":
		return b.load(id.BrazeID)
	case id.ExternalID != "":
		ext := id.ExternalID
		return b.resolveOne(b.byExt[ext], func(p *brazen.Profile) bool { return hasExternalID(p, ext) },
			func() (brazen.ProfileRef, error) {
				// The prefetch answered for the state at the batch's start;
				// the overlay, checked first, covers changes since.
				if p := b.pre[ext]; p != nil {
					return brazen.ProfileRef{BrazeID: p.BrazeID}, nil
				}
				if b.absent[ext] {
					return brazen.ProfileRef{}, errNobody
				}
				return b.tx.ByExternalID(b.ctx, ext)
			})
	case id.Alias != nil:
		a := *id.Alias
		return b.resolveOne(b.byAlias[a], func(p *brazen.Profile) bool { return hasAlias(p, a) },
			func() (brazen.ProfileRef, error) { return b.tx.ByAlias(b.ctx, a) })
	case id.Email != "":
		email := strings.ToLower(id.Email)
		return b.resolveMany(b.byEmail[email], func(p *brazen.Profile) bool { return strings.EqualFold(p.Email, email) },
			func() ([]brazen.ProfileRef, error) { return b.tx.ByEmail(b.ctx, email) }, id.Prioritization)
	case id.Phone != "":
		return b.resolveMany(b.byPhone[id.Phone], func(p *brazen.Profile) bool { return p.Phone == id.Phone },
			func() ([]brazen.ProfileRef, error) { return b.tx.ByPhone(b.ctx, id.Phone) }, id.Prioritization)
	}
	return nil, nil
}

func (b *batch) resolveOne(overlay []string, has func(*brazen.Profile) bool, stored func() (brazen.ProfileRef, error)) (*brazen.Profile, error) {
	for _, id := range overlay {
		p, err := b.load(id)
		if err != nil {
			return nil, err
		}
		if p != nil && has(p) {
			return p, nil
		}
	}
	ref, err := stored()
	if brazen.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	p, err := b.load(ref.BrazeID)
	if err != nil || p == nil || !has(p) {
		return nil, err
	}
	return p, nil
}

func (b *batch) resolveMany(overlay []string, has func(*brazen.Profile) bool, stored func() ([]brazen.ProfileRef, error), prio []string) (*brazen.Profile, error) {
	refs, err := stored()
	if err != nil {
		return nil, err
	}
	ids := slices.Clone(overlay)
	for _, r := range refs {
		ids = appendOnce(ids, r.BrazeID)
	}
	var cands []*brazen.Profile
	for _, id := range ids {
		p, err := b.load(id)
		if err != nil {
			return nil, err
		}
		if p != nil && has(p) {
			cands = append(cands, p)
		}
	}
	return choose(cands, prio), nil
}

// choose applies Braze's rules to profiles sharing an email or phone. With
// no prioritization (/users/track): the most recently updated identified
// profile, else the most recently updated one. With a prioritization array,
// its rules narrow the candidates in order; if more than one is left, none
// is chosen (the operation is skipped, as Braze does).
func choose(cands []*brazen.Profile, prio []string) *brazen.Profile {
	if len(cands) <= 1 {
		if len(cands) == 1 {
			return cands[0]
		}
		return nil
	}
	if len(prio) == 0 {
		prio = []string{"identified", "most_recently_updated"}
		if !slices.ContainsFunc(cands, func(p *brazen.Profile) bool { return p.ExternalID != "" }) {
			prio = []string{"most_recently_updated"}
		}
	}
	for _, rule := range prio {
		switch rule {
		case "identified":
			cands = slices.DeleteFunc(cands, func(p *brazen.Profile) bool { return p.ExternalID == "" })
		case "unidentified":
			cands = slices.DeleteFunc(cands, func(p *brazen.Profile) bool { return p.ExternalID != "" })
		case "most_recently_updated", "least_recently_updated":
			if len(cands) == 0 {
				return nil
			}
			best := cands[0]
			for _, p := range cands[1:] {
				newer := p.UpdatedAt.After(best.UpdatedAt) || (p.UpdatedAt.Equal(best.UpdatedAt) && p.BrazeID > best.BrazeID)
				if newer == (rule == "most_recently_updated") {
					best = p
				}
			}
			cands = []*brazen.Profile{best}
		}
	}
	if len(cands) != 1 {
		return nil
	}
	return cands[0]
}

// create makes a new profile for an identifier that names nobody, if the
// identifier can name a new profile (a braze_id cannot: Brazen assigns it).
func (b *batch) create(id brazen.Identifier) *brazen.Profile {
	p := &brazen.Profile{BrazeID: brazen.NewID(), CreatedAt: b.now, UpdatedAt: b.now}
	switch {
	case id.BrazeID != "":
		return nil
	case id.ExternalID != "":
		p.ExternalID = id.ExternalID
	case id.Alias != nil:
		p.Aliases = []brazen.Alias{*id.Alias}
	case id.Email != "":
		p.Email = profile.NormalizeEmail(id.Email)
	case id.Phone != "":
		p.Phone = id.Phone
	default:
		return nil
	}
	b.touch(p, true)
	return p
}

// target resolves a track object's user, creating it unless the object
// updates existing profiles only.
func (b *batch) target(op *Op) (*brazen.Profile, error) {
	p, err := b.resolve(op.ID)
	if err != nil || p != nil {
		return p, err
	}
	if op.UpdateExistingOnly {
		return nil, nil
	}
	return b.create(op.ID), nil
}

// apply applies one operation. Operations that name nobody, or that would
// break an identity rule checked when they were accepted but no longer
// holding, are skipped: Braze answers such requests with success too.
func (b *batch) apply(op *Op) error {
	switch op.Kind {
	case KindAttributes:
		p, err := b.target(op)
		if err != nil || p == nil {
			return err
		}
		if op.Attrs != nil {
			profile.Apply(p, op.Attrs, b.now)
		}
		p.UpdatedAt = b.now
		b.touch(p, false)
	case KindEvent:
		p, err := b.target(op)
		if err != nil || p == nil || op.Event == nil {
			return err
		}
		e := op.Event
		p.Events = summarise(p.Events, e.Name, e.Time, 1)
		p.UpdatedAt = b.now
		b.touch(p, false)
		b.events = append(b.events, brazen.EventRecord{BrazeID: p.BrazeID, Name: e.Name, Time: e.Time, AppID: e.AppID, Properties: e.Properties})
		b.rollup("event", e.Name, e.Time, 1, 0)
	case KindPurchase:
		p, err := b.target(op)
		if err != nil || p == nil || op.Purchase == nil {
			return err
		}
		pu := op.Purchase
		q := max(pu.Quantity, 1)
		p.Purchases = summarise(p.Purchases, pu.ProductID, pu.Time, int64(q))
		p.TotalRevenue += pu.Price * float64(q)
		p.UpdatedAt = b.now
		b.touch(p, false)
		b.purchases = append(b.purchases, brazen.PurchaseRecord{BrazeID: p.BrazeID, ProductID: pu.ProductID, Currency: pu.Currency,
			Price: pu.Price, Quantity: q, Time: pu.Time, AppID: pu.AppID, Properties: pu.Properties})
		b.rollup("purchase", pu.ProductID, pu.Time, int64(q), pu.Price*float64(q))
	case KindAliasNew:
		return b.aliasNew(op)
	case KindAliasUpdate:
		return b.aliasUpdate(op)
	case KindIdentify:
		return b.identify(op)
	case KindMerge:
		return b.merge(op)
	case KindDelete:
		p, err := b.resolve(op.ID)
		if err != nil || p == nil {
			return err
		}
		b.remove(p)
	case KindRename:
		return b.rename(op)
	case KindRemove:
		p, err := b.resolve(op.ID)
		if err != nil || p == nil || p.ExternalID == op.ID.ExternalID {
			return err
		}
		p.Deprecated = slices.DeleteFunc(p.Deprecated, func(d string) bool { return d == op.ID.ExternalID })
		p.UpdatedAt = b.now
		b.touch(p, true)
	case KindTokenRemove:
		p, err := b.resolve(op.ID)
		if err != nil || p == nil {
			return err
		}
		tokens, _ := p.Standard["push_tokens"].([]any)
		kept := slices.DeleteFunc(slices.Clone(tokens), func(e any) bool {
			m, _ := e.(map[string]any)
			return m["token"] == op.Token
		})
		if len(kept) == len(tokens) {
			return nil
		}
		// A new map: values on a profile are never changed in place.
		std := maps.Clone(p.Standard)
		if len(kept) == 0 {
			delete(std, "push_tokens")
		} else {
			std["push_tokens"] = kept
		}
		p.Standard = std
		p.UpdatedAt = b.now
		b.touch(p, false)
	}
	return nil
}

func summarise(m map[string]*brazen.Summary, name string, t time.Time, n int64) map[string]*brazen.Summary {
	if m == nil {
		m = map[string]*brazen.Summary{}
	}
	s := m[name]
	if s == nil {
		m[name] = &brazen.Summary{First: t, Last: t, Count: n}
		return m
	}
	if t.Before(s.First) {
		s.First = t
	}
	if t.After(s.Last) {
		s.Last = t
	}
	s.Count += n
	return m
}

func (b *batch) rollup(kind, name string, t time.Time, n int64, revenue float64) {
	k := rollupKey{kind, name, t.UTC().Format(time.DateOnly)}
	r := b.rollups[k]
	if r == nil {
		r = &brazen.Rollup{Kind: kind, Name: name, Day: k.day}
		b.rollups[k] = r
	}
	r.Count += n
	r.Revenue += revenue
}

func (b *batch) aliasTaken(a brazen.Alias) (bool, error) {
	p, err := b.resolve(brazen.Identifier{Alias: &a})
	return p != nil, err
}

func (b *batch) aliasNew(op *Op) error {
	a := *op.Alias
	if taken, err := b.aliasTaken(a); err != nil || taken {
		return err
	}
	if op.ID.ExternalID == "" {
		b.create(brazen.Identifier{Alias: &a})
		return nil
	}
	p, err := b.resolve(op.ID)
	if err != nil || p == nil {
		return err
	}
	if slices.ContainsFunc(p.Aliases, func(x brazen.Alias) bool { return x.Label == a.Label }) {
		return nil // one alias name per label per user
	}
	p.Aliases = append(p.Aliases, a)
	p.UpdatedAt = b.now
	b.touch(p, true)
	return nil
}

func (b *batch) aliasUpdate(op *Op) error {
	old := *op.Alias
	p, err := b.resolve(brazen.Identifier{Alias: &old})
	if err != nil || p == nil {
		return err
	}
	next := brazen.Alias{Name: op.NewName, Label: old.Label}
	if taken, err := b.aliasTaken(next); err != nil || taken {
		return err
	}
	for i, a := range p.Aliases {
		if a == old {
			p.Aliases[i] = next
		}
	}
	p.UpdatedAt = b.now
	b.touch(p, true)
	return nil
}

// identify attaches an external id to an alias-, email- or phone-only
// profile: if a profile already has the external id, the anonymous one is
// merged into it; otherwise the anonymous profile takes the external id.
func (b *batch) identify(op *Op) error {
	src, err := b.resolve(op.ID)
	if err != nil || src == nil || src.ExternalID != "" {
		return err
	}
	ext := op.Target.ExternalID
	keep, err := b.resolve(brazen.Identifier{ExternalID: ext})
	if err != nil {
		return err
	}
	if keep == nil {
		src.ExternalID = ext
		src.UpdatedAt = b.now
		b.touch(src, true)
		return nil
	}
	if keep.BrazeID == src.BrazeID {
		return nil
	}
	if op.ID.Alias != nil && slices.ContainsFunc(keep.Aliases, func(a brazen.Alias) bool { return a.Label == op.ID.Alias.Label }) {
		return nil // Braze does not merge when the target has an alias with that label
	}
	b.mergeInto(src, keep)
	return nil
}

func (b *batch) merge(op *Op) error {
	src, err := b.resolve(op.ID)
	if err != nil || src == nil {
		return err
	}
	keep, err := b.resolve(*op.Target)
	if err != nil || keep == nil || keep.BrazeID == src.BrazeID {
		return err
	}
	b.mergeInto(src, keep)
	return nil
}

// mergeInto merges src into keep and deletes src. Fields keep already has
// win; fields only src has are copied; aliases move (unless keep has one
// with the same label); event and purchase summaries add up (first is the
// earlier, last the later); events and purchases move to keep.
func (b *batch) mergeInto(src, keep *brazen.Profile) {
	for k, v := range src.Standard {
		if _, ok := keep.Standard[k]; !ok {
			if keep.Standard == nil {
				keep.Standard = map[string]any{}
			}
			keep.Standard[k] = v
		}
	}
	for k, v := range src.Custom {
		if _, ok := keep.Custom[k]; !ok {
			if keep.Custom == nil {
				keep.Custom = map[string]any{}
			}
			keep.Custom[k] = v
		}
	}
	if keep.Email == "" {
		keep.Email = src.Email
	}
	if keep.Phone == "" {
		keep.Phone = src.Phone
	}
	for _, a := range src.Aliases {
		if !slices.ContainsFunc(keep.Aliases, func(x brazen.Alias) bool { return x.Label == a.Label }) {
			keep.Aliases = append(keep.Aliases, a)
		}
	}
	for name, s := range src.Events {
		keep.Events = mergeSummary(keep.Events, name, s)
	}
	for name, s := range src.Purchases {
		keep.Purchases = mergeSummary(keep.Purchases, name, s)
	}
	keep.TotalRevenue += src.TotalRevenue
	if src.CreatedAt.Before(keep.CreatedAt) {
		keep.CreatedAt = src.CreatedAt
	}
	keep.UpdatedAt = b.now
	b.moves = append(b.moves, [2]string{src.BrazeID, keep.BrazeID})
	for i := range b.events { // this batch's own activity of src moves too
		if b.events[i].BrazeID == src.BrazeID {
			b.events[i].BrazeID = keep.BrazeID
		}
	}
	for i := range b.purchases {
		if b.purchases[i].BrazeID == src.BrazeID {
			b.purchases[i].BrazeID = keep.BrazeID
		}
	}
	b.remove(src)
	b.touch(keep, true)
}

func mergeSummary(m map[string]*brazen.Summary, name string, s *brazen.Summary) map[string]*brazen.Summary {
	if m == nil {
		m = map[string]*brazen.Summary{}
	}
	t := m[name]
	if t == nil {
		c := *s
		m[name] = &c
		return m
	}
	if s.First.Before(t.First) {
		t.First = s.First
	}
	if s.Last.After(t.Last) {
		t.Last = s.Last
	}
	t.Count += s.Count
	return m
}

func (b *batch) rename(op *Op) error {
	p, err := b.resolve(op.ID)
	if err != nil || p == nil || p.ExternalID != op.ID.ExternalID {
		return err // the current id must be the primary one
	}
	other, err := b.resolve(brazen.Identifier{ExternalID: op.NewExternalID})
	if err != nil || other != nil {
		return err // the new id is in use, as primary or deprecated
	}
	p.Deprecated = append(p.Deprecated, p.ExternalID)
	p.ExternalID = op.NewExternalID
	p.UpdatedAt = b.now
	b.touch(p, true)
	return nil
}

// flush writes the batch: activity moves, deletes, profiles, events,
// purchases, rollups.
func (b *batch) flush() error {
	ctx := b.ctx
	for _, m := range b.moves {
		if err := b.tx.MoveActivity(ctx, m[0], m[1]); err != nil {
			return err
		}
	}
	ids := make([]string, 0, len(b.dirty))
	for id := range b.dirty {
		ids = append(ids, id)
	}
	slices.Sort(ids) // a stable write order
	for _, id := range ids {
		if e := b.dirty[id]; e.deleted {
			if err := b.tx.DeleteProfile(ctx, id); err != nil {
				return err
			}
		}
	}
	for _, id := range ids {
		if e := b.dirty[id]; !e.deleted {
			if err := b.tx.PutProfile(ctx, e.p, e.identity); err != nil {
				return err
			}
		}
	}
	// Events and purchases of profiles deleted later in the batch are not
	// written.
	live := func(id string) bool { e := b.dirty[id]; return e == nil || !e.deleted }
	events := slices.DeleteFunc(b.events, func(e brazen.EventRecord) bool { return !live(e.BrazeID) })
	if err := b.tx.AddEvents(ctx, events); err != nil {
		return err
	}
	purchases := slices.DeleteFunc(b.purchases, func(p brazen.PurchaseRecord) bool { return !live(p.BrazeID) })
	if err := b.tx.AddPurchases(ctx, purchases); err != nil {
		return err
	}
	rollups := make([]brazen.Rollup, 0, len(b.rollups))
	for _, r := range b.rollups {
		rollups = append(rollups, *r)
	}
	return b.tx.AddRollups(ctx, rollups)
}
