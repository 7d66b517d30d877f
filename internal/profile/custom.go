package profile

import (
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// parseCustom validates one custom attribute's value. nested reports
// whether the attribute is a nested custom attribute (an object, or an
// array holding objects), whose errors drop only the object's nested
// updates (see Parse).
//
// An object is an operator only when all its keys are operator keys:
// {"inc": n}; {"add": […]}, {"remove": […]} or both; $add, $remove and
// $update. Anything else is a nested object, and a nested object whose keys
// mix $ operators with other keys is an error.
func parseCustom(name string, v any, mergeObjects bool) (op Op, nested bool, err error) {
	op = Op{Name: name, Kind: KindSet, Value: v}
	switch t := v.(type) {
	case nil:
		return Op{Name: name, Kind: KindUnset}, false, nil
	case string:
		if utf8.RuneCountInString(t) > MaxStringLength {
			return op, false, invalid("'%s' must be at most %d characters", quoteName(name), MaxStringLength)
		}
	case json.Number, bool:
	case []any:
		if isNested(t) {
			op.Value, err = objectArray(name, t)
			return op, true, err
		}
		vals, err := primitives(name, "", t)
		if err != nil {
			return op, false, err
		}
		op.Value = capArray(unique(vals))
	case map[string]any:
		return parseObject(name, t, mergeObjects)
	}
	return op, false, nil
}

func parseObject(name string, m map[string]any, mergeObjects bool) (Op, bool, error) {
	if n, ok := m["inc"]; ok && len(m) == 1 {
		num, ok := n.(json.Number)
		if ok {
			num, ok = integer(num)
		}
		if !ok {
			return Op{}, false, invalid("'%s' can only be incremented by an integer: {\"inc\": 1}", quoteName(name))
		}
		return Op{Name: name, Kind: KindInc, Value: num}, false, nil
	}
	if isArrayOp(m) {
		op := Op{Name: name, Kind: KindArray}
		for _, k := range [...]string{"add", "remove"} {
			raw, ok := m[k]
			if !ok {
				continue
			}
			arr, ok := raw.([]any)
			if !ok {
				return Op{}, false, invalid("'%s' '%s' must be an array", quoteName(name), k)
			}
			vals, err := primitives(name, k, arr)
			if err != nil {
				return Op{}, false, err
			}
			if len(vals) == 0 {
				vals = nil
			}
			if k == "add" {
				op.Add = vals
			} else {
				op.Remove = vals
			}
		}
		return op, false, nil
	}
	for k := range m {
		if strings.HasPrefix(k, "$") {
			op, err := objectsOp(name, m, mergeObjects)
			return op, true, err
		}
	}
	obj, err := nestedValue(m, false)
	if err != nil {
		return Op{}, true, err.named(name)
	}
	op := Op{Name: name, Kind: KindSet, Value: obj}
	if mergeObjects {
		op.Kind = KindMerge
	}
	return op, true, nil
}

func isArrayOp(m map[string]any) bool {
	for k := range m {
		if k != "add" && k != "remove" {
			return false
		}
	}
	return len(m) > 0
}

// primitives checks that vals are strings (of at most MaxStringLength
// characters), numbers or booleans. op is "", "add" or "remove".
func primitives(name, op string, vals []any) ([]any, error) {
	for _, v := range vals {
		switch t := v.(type) {
		case string:
			if utf8.RuneCountInString(t) <= MaxStringLength {
				continue
			}
		case json.Number, bool:
			continue
		}
		what := "'" + quoteName(name) + "'"
		if op != "" {
			what += " '" + op + "'"
		}
		return nil, invalid("%s values must be strings of at most %d characters, numbers or booleans", what, MaxStringLength)
	}
	return vals, nil
}

// unique drops repeated values, keeping each value's last occurrence: an
// array is a set ordered by when each value was last written.
func unique(vals []any) []any {
	seen := make(map[string]bool, len(vals))
	out := make([]any, 0, len(vals))
	for i := len(vals) - 1; i >= 0; i-- {
		k, _ := key(vals[i])
		if !seen[k] {
			seen[k] = true
			out = append(out, vals[i])
		}
	}
	slices.Reverse(out)
	return out
}

// capArray keeps the newest MaxArrayLength values. Braze's SDKs drop the
// oldest element when one is added to a full array; Brazen does the same,
// and treats a replacement longer than the limit alike, keeping its last
// values.
func capArray(vals []any) []any {
	if len(vals) > MaxArrayLength {
		return slices.Clone(vals[len(vals)-MaxArrayLength:])
	}
	return vals
}

func objectArray(name string, arr []any) ([]any, error) {
	out := make([]any, len(arr))
	for i, e := range arr {
		if _, ok := e.(map[string]any); !ok {
			return nil, invalid("'%s[%d]' must be an object: an array holding objects must hold only objects", quoteName(name), i)
		}
		v, err := nestedValue(e, true)
		if err != nil {
			return nil, err.at(strconv.Itoa(i), true).named(name)
		}
		out[i] = v
	}
	return out, nil
}

// objectsOp parses {"$add": […], "$remove": […], "$update": […]}.
func objectsOp(name string, m map[string]any, mergeObjects bool) (Op, error) {
	op := Op{Name: name, Kind: KindObjects}
	qn := quoteName(name)
	for _, k := range slices.Sorted(maps.Keys(m)) {
		arr, isArr := m[k].([]any)
		switch k {
		case "$add":
			if !isArr {
				return Op{}, invalid("'%s' '$add' must be an array of objects", qn)
			}
			objs, err := objectArray(name, arr)
			if err != nil {
				return Op{}, err
			}
			if len(objs) > 0 {
				op.Add = objs
			}
		case "$remove":
			if !isArr {
				return Op{}, invalid("'%s' '$remove' must be an array of objects with '$identifier_key' and '$identifier_value'", qn)
			}
			for _, e := range arr {
				e, _ := e.(map[string]any)
				w, ok := parseMatch(e)
				if !ok || len(e) != 2 {
					return Op{}, invalid("'%s' '$remove' must be an array of objects with '$identifier_key' and '$identifier_value'", qn)
				}
				op.RemoveWhere = append(op.RemoveWhere, w)
			}
		case "$update":
			if !mergeObjects {
				return Op{}, invalid("'%s' '$update' requires '_merge_objects' to be true", qn)
			}
			msg := "'%s' '$update' must be an array of objects with '$identifier_key', '$identifier_value' and '$new_object'"
			if !isArr {
				return Op{}, invalid(msg, qn)
			}
			for _, e := range arr {
				e, _ := e.(map[string]any)
				w, ok := parseMatch(e)
				obj, isObj := e["$new_object"].(map[string]any)
				if !ok || !isObj || len(e) != 3 || isTimeObject(obj) {
					return Op{}, invalid(msg, qn)
				}
				v, err := nestedValue(obj, false)
				if err != nil {
					return Op{}, err.at("$new_object", false).named(name)
				}
				op.UpdateWhere = append(op.UpdateWhere, ObjectUpdate{Where: w, NewObject: v.(map[string]any)})
			}
		case "$time":
			return Op{}, invalid("'%s' '$time' is only allowed inside a nested object", qn)
		default:
			return Op{}, invalid("'%s' '%s' is not allowed: an object with $ operators may only hold '$add', '$remove' and '$update'", qn, quoteName(k))
		}
	}
	return op, nil
}

// parseMatch reads $identifier_key (a non-empty string) and
// $identifier_value (a string, number or boolean).
func parseMatch(e map[string]any) (Match, bool) {
	k, ok := e["$identifier_key"].(string)
	v := e["$identifier_value"]
	if _, prim := key(v); !ok || !prim || k == "" {
		return Match{}, false
	}
	return Match{Key: k, Value: v}, true
}

// nestedError is an invalid value inside a nested attribute, with its path.
type nestedError struct {
	path string // ".a.b[2]"
	msg  string
}

func (e *nestedError) at(step string, index bool) *nestedError {
	if index {
		e.path = "[" + step + "]" + e.path
	} else {
		e.path = "." + step + e.path
	}
	return e
}

func (e *nestedError) named(name string) error {
	return invalid("'%s%s' %s", quoteName(name), e.path, e.msg)
}

// nestedValue validates a value inside a nested custom attribute and
// returns it normalised: {"$time": …} values in TimeLayout. Keys are
// visited in order so that the error reported is predictable. Arrays may
// not directly hold arrays (Braze allows one level of array nesting).
// Strings inside nested attributes have no length limit but the
// attribute's MaxNestedSize.
func nestedValue(v any, inArray bool) (any, *nestedError) {
	switch t := v.(type) {
	case nil:
		return nil, &nestedError{msg: "must not be null in a nested attribute"}
	case string, json.Number, bool:
		return v, nil
	case []any:
		if inArray {
			return nil, &nestedError{msg: "must not be an array: arrays cannot hold arrays"}
		}
		out := make([]any, len(t))
		for i, e := range t {
			n, err := nestedValue(e, true)
			if err != nil {
				return nil, err.at(strconv.Itoa(i), true)
			}
			out[i] = n
		}
		return out, nil
	case map[string]any:
		if tv, ok := t["$time"]; ok && len(t) == 1 {
			s, _ := tv.(string)
			tm, err := ParseTime(s)
			if err != nil {
				return nil, &nestedError{path: ".$time", msg: "must be a date in ISO 8601 or another format Braze accepts"}
			}
			return map[string]any{"$time": tm.Format(TimeLayout)}, nil
		}
		out := make(map[string]any, len(t))
		for _, k := range slices.Sorted(maps.Keys(t)) {
			switch {
			case k == "":
				return nil, &nestedError{msg: "must not have an empty key"}
			case k[0] == '$':
				return nil, (&nestedError{msg: "is not allowed: keys starting with '$' are operators, and only '$time' may appear inside a nested object, alone"}).at(quoteName(k), false)
			}
			n, err := nestedValue(t[k], false)
			if err != nil {
				return nil, err.at(k, false)
			}
			out[k] = n
		}
		return out, nil
	}
	return nil, &nestedError{msg: "is not a JSON value"}
}
