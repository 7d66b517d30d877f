package profile

import (
	"encoding/json"
	"slices"
	"time"

	"github.com/brazenhq/brazen/internal/brazen"
)

// Apply applies u to p at time now. It never fails: Parse validated u.
// Values on p are never modified in place — every change stores a new
// value — so a copy of p's maps taken before Apply stays valid, and nothing
// on p shares memory with u.
func Apply(p *brazen.Profile, u *Update, now time.Time) {
	if u != nil {
		for i := range u.Standard {
			applyStandard(p, &u.Standard[i])
		}
		for i := range u.Custom {
			applyCustom(p, &u.Custom[i])
		}
	}
	p.UpdatedAt = now
	if p.CreatedAt.IsZero() {
		p.CreatedAt = now
	}
}

func applyStandard(p *brazen.Profile, op *Op) {
	var v any
	switch op.Kind {
	case KindUnset:
		delete(p.Standard, op.Name)
		switch op.Name {
		case "email":
			p.Email = ""
		case "phone":
			p.Phone = ""
		}
		return
	case KindSet:
		v = clone(op.Value)
		switch op.Name {
		case "email":
			p.Email, _ = v.(string)
		case "phone":
			p.Phone, _ = v.(string)
		}
	case KindMerge:
		src, _ := op.Value.(map[string]any)
		cur, ok := p.Standard[op.Name].(map[string]any)
		if !ok && len(src) == 0 {
			return
		}
		v = merge(cur, src)
	case KindTokens:
		cur, _ := p.Standard[op.Name].([]any)
		add, _ := op.Value.([]any)
		list := slices.Clone(cur)
		for _, t := range add {
			if m, ok := t.(map[string]any); ok {
				list = appendToken(list, clone(m).(map[string]any))
			}
		}
		v = list
	}
	if v == nil {
		return
	}
	if p.Standard == nil {
		p.Standard = make(map[string]any)
	}
	p.Standard[op.Name] = v
}

func applyCustom(p *brazen.Profile, op *Op) {
	cur, exists := p.Custom[op.Name]
	var v any
	switch op.Kind {
	case KindUnset:
		delete(p.Custom, op.Name)
		return
	case KindSet:
		v = clone(op.Value)
	case KindInc:
		inc, ok := op.Value.(json.Number)
		if !ok {
			return
		}
		n, ok := number(cur)
		if !ok {
			n = "0" // Braze: a missing or non-numeric attribute counts as 0
		}
		v = add(n, inc)
	case KindArray:
		arr, ok := cur.([]any)
		if !ok || isNested(arr) {
			arr, exists = nil, false // anything but an array of primitives counts as empty
		}
		out := editArray(arr, op.Add, op.Remove)
		if !exists && len(out) == 0 {
			return // nothing added: do not create the attribute
		}
		v = out
	case KindMerge:
		src, ok := op.Value.(map[string]any)
		if !ok {
			return
		}
		if dst, ok := cur.(map[string]any); ok && !isTimeObject(dst) {
			v = merge(dst, src)
		} else {
			v = clone(src)
		}
	case KindObjects:
		arr, ok := cur.([]any)
		if !ok || !allObjects(arr) {
			arr, exists = nil, false // anything but an array of objects counts as empty
		}
		out := editObjects(arr, op)
		if !exists && len(out) == 0 {
			return
		}
		v = out
	}
	if v == nil {
		return
	}
	if isNested(v) && jsonSize(v, MaxNestedSize) > MaxNestedSize {
		return // Braze drops an update that would take the attribute over its limit, silently
	}
	if p.Custom == nil {
		p.Custom = make(map[string]any)
	}
	p.Custom[op.Name] = v
}

// editArray returns a new array: cur, then each of add (moved to the end if
// present), without remove, capped to its newest MaxArrayLength values.
func editArray(cur, add, remove []any) []any {
	out := make([]any, 0, len(cur)+len(add))
	out = append(out, cur...)
	for _, a := range add {
		if k, ok := key(a); ok {
			out = slices.DeleteFunc(out, func(e any) bool { ke, _ := key(e); return ke == k })
		}
		out = append(out, a)
	}
	if len(remove) > 0 {
		drop := make(map[string]bool, len(remove))
		for _, r := range remove {
			if k, ok := key(r); ok {
				drop[k] = true
			}
		}
		out = slices.DeleteFunc(out, func(e any) bool { k, ok := key(e); return ok && drop[k] })
	}
	return capArray(out)
}

// editObjects returns a new array: cur with op's $add, then $remove, then
// $update, in that order (Braze's; so $remove with $add is no upsert).
func editObjects(cur []any, op *Op) []any {
	out := make([]any, 0, len(cur)+len(op.Add))
	out = append(out, cur...)
	for _, a := range op.Add {
		if _, ok := a.(map[string]any); ok {
			out = append(out, clone(a))
		}
	}
	if len(op.RemoveWhere) > 0 {
		out = slices.DeleteFunc(out, func(e any) bool {
			return slices.ContainsFunc(op.RemoveWhere, func(m Match) bool { return matches(e, m) })
		})
	}
	for _, u := range op.UpdateWhere {
		for i, e := range out {
			if matches(e, u.Where) {
				out[i] = merge(e.(map[string]any), u.NewObject)
			}
		}
	}
	return out
}

func matches(e any, m Match) bool {
	obj, ok := e.(map[string]any)
	if !ok {
		return false
	}
	v, ok := obj[m.Key]
	return ok && equal(v, m.Value)
}

func allObjects(arr []any) bool {
	for _, e := range arr {
		if _, ok := e.(map[string]any); !ok {
			return false
		}
	}
	return true
}
