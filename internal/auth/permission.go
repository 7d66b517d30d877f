// Package auth holds what decides who may call Brazen's REST API: the Braze
// permission names, API key secrets, IP allowlists with trusted proxies, and
// the Keyring that authenticates a request in memory.
package auth

import (
	"fmt"
	"math/bits"
	"slices"
	"strings"
)

// Permission is the index of a Braze REST API key permission in Groups.
type Permission uint8

// PermissionGroup is a dashboard group of permissions ("User Data", "Email", …).
type PermissionGroup struct {
	Name        string
	Permissions []string
}

// Groups lists every Braze REST API key permission, exactly as Braze names
// them, grouped as Braze's dashboard groups them. Early-access and legacy
// permissions are included so that a permission list copied from Braze is
// accepted whole.
var Groups = []PermissionGroup{
	{"User Data", []string{
		"users.track", "users.track.sync", "users.track.bulk", "users.delete",
		"users.alias.new", "users.alias.update", "users.identify", "users.merge",
		"users.external_ids.rename", "users.external_ids.remove",
		"users.export.ids", "users.export.segment", "users.export.global_control_group",
	}},
	{"Email", []string{
		"email.unsubscribe", "email.status", "email.hard_bounces",
		"email.bounce.remove", "email.spam.remove", "email.blacklist",
	}},
	{"Messages", []string{
		"messages.send", "messages.schedule.create", "messages.schedule.update",
		"messages.schedule.delete", "messages.schedule_broadcasts",
		"messages.live_activity.start", "messages.live_activity.update",
	}},
	{"Campaigns", []string{
		"campaigns.trigger.send", "campaigns.trigger.schedule.create",
		"campaigns.trigger.schedule.update", "campaigns.trigger.schedule.delete",
		"campaigns.list", "campaigns.data_series", "campaigns.details",
		"campaigns.url_info.details", "campaigns.duplicate",
		"campaigns.translations.get", "campaigns.translations.update",
		"sends.data_series", "sends.id.create", "transactional.send",
	}},
	{"Canvas", []string{
		"canvas.trigger.send", "canvas.trigger.schedule.create",
		"canvas.trigger.schedule.update", "canvas.trigger.schedule.delete",
		"canvas.list", "canvas.data_series", "canvas.details", "canvas.data_summary",
		"canvas.url_info.details", "canvas.duplicate",
		"canvas.translations.get", "canvas.translations.update",
	}},
	{"Segments", []string{"segments.list", "segments.data_series", "segments.details"}},
	{"Purchases", []string{"purchases.product_list", "purchases.revenue_series", "purchases.quantity_series"}},
	{"Events", []string{"events.list", "events.get", "events.data_series"}},
	{"Custom Attributes", []string{"custom_attributes.get"}},
	{"Sessions", []string{"sessions.data_series"}},
	{"KPIs", []string{
		"kpi.dau.data_series", "kpi.mau.data_series",
		"kpi.new_users.data_series", "kpi.uninstalls.data_series",
	}},
	{"Templates", []string{
		"templates.email.create", "templates.email.update", "templates.email.info",
		"templates.email.list", "templates.translations.get", "templates.translations.update",
	}},
	{"Content Blocks", []string{
		"content_blocks.create", "content_blocks.update", "content_blocks.info",
		"content_blocks.list", "content_blocks.translations.get", "content_blocks.translations.update",
	}},
	{"SSO", []string{"sso.saml.login"}},
	{"Preference Center", []string{
		"preference_center.get", "preference_center.list",
		"preference_center.update", "preference_center.user.get",
	}},
	{"Subscription", []string{"subscription.status.set", "subscription.status.get", "subscription.groups.get"}},
	{"SMS", []string{"sms.invalid_phone_numbers", "sms.invalid_phone_numbers.remove"}},
	{"Catalogs", []string{
		"catalogs.get", "catalogs.create", "catalogs.delete",
		"catalogs.create_fields", "catalogs.delete_fields",
		"catalogs.create_selection", "catalogs.delete_selection",
		"catalogs.add_items", "catalogs.update_items", "catalogs.replace_items",
		"catalogs.delete_items", "catalogs.get_items",
		"catalogs.get_item", "catalogs.create_item", "catalogs.update_item",
		"catalogs.replace_item", "catalogs.delete_item",
	}},
	{"SDK Authentication", []string{
		"sdk_authentication.create", "sdk_authentication.keys",
		"sdk_authentication.primary", "sdk_authentication.delete",
	}},
	{"Cloud Data Ingestion", []string{"cdi.integration_list", "cdi.integration_sync", "cdi.integration_job_status"}},
	{"Media Library", []string{"media_library.create", "media_library.replace"}},
	{"Apps", []string{"apps.push_credential"}},
	{"Data Objects", []string{
		"data_objects.read", "data_objects.create", "data_objects.update", "data_objects.delete",
		"data_objects.user_relationships.read", "data_objects.user_relationships.create",
		"data_objects.user_relationships.update", "data_objects.user_relationships.delete",
		"data_objects.object_relationships.create", "data_objects.object_relationships.update",
		"data_objects.object_relationships.delete",
	}},
	{"News Feed (legacy)", []string{"feed.list", "feed.data_series", "feed.details"}},
}

var (
	names   []string              // Permission → name
	byName  map[string]Permission // name → Permission
	allPerm PermissionSet
)

func init() {
	byName = make(map[string]Permission)
	for _, g := range Groups {
		for _, n := range g.Permissions {
			if _, dup := byName[n]; dup {
				panic("auth: duplicate permission " + n)
			}
			byName[n] = Permission(len(names))
			allPerm.Add(Permission(len(names)))
			names = append(names, n)
		}
	}
	if len(names) > 64*len(PermissionSet{}) {
		panic("auth: PermissionSet too small")
	}
}

// String returns the Braze name of p.
func (p Permission) String() string { return names[p] }

// PermissionNames returns every valid permission name, in dashboard order.
func PermissionNames() []string { return slices.Clone(names) }

// LookupPermission returns the permission with the given Braze name.
func LookupPermission(name string) (Permission, bool) {
	p, ok := byName[name]
	return p, ok
}

// MustPermission is LookupPermission for names known at compile time.
func MustPermission(name string) Permission {
	p, ok := byName[name]
	if !ok {
		panic("auth: unknown permission " + name)
	}
	return p
}

// PermissionSet is a set of permissions as a bitmap, so that checking one on
// every request costs a shift and a mask.
type PermissionSet [3]uint64

// AllPermissions returns the set holding every permission.
func AllPermissions() PermissionSet { return allPerm }

// Add puts p in the set.
func (s *PermissionSet) Add(p Permission) { s[p/64] |= 1 << (p % 64) }

// Has reports whether p is in the set.
func (s *PermissionSet) Has(p Permission) bool { return s[p/64]&(1<<(p%64)) != 0 }

// Len returns the number of permissions in the set.
func (s *PermissionSet) Len() int {
	n := 0
	for _, w := range s {
		n += bits.OnesCount64(w)
	}
	return n
}

// Names returns the names in the set, in dashboard order.
func (s *PermissionSet) Names() []string {
	var out []string
	for i, n := range names {
		if s.Has(Permission(i)) {
			out = append(out, n)
		}
	}
	return out
}

// ParsePermissions turns Braze permission names into a set. Names are trimmed
// and duplicates are allowed; an unknown name is an error that lists the valid
// ones, so the caller can correct it without opening the documentation.
func ParsePermissions(list []string) (PermissionSet, error) {
	var s PermissionSet
	var unknown []string
	for _, n := range list {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		p, ok := byName[n]
		if !ok {
			unknown = append(unknown, fmt.Sprintf("%q", n))
			continue
		}
		s.Add(p)
	}
	if len(unknown) > 0 {
		return s, &UnknownPermissionError{Names: unknown}
	}
	return s, nil
}

// UnknownPermissionError names permissions that Braze does not have.
type UnknownPermissionError struct{ Names []string }

func (e *UnknownPermissionError) Error() string {
	return fmt.Sprintf("unknown permission %s; valid permissions are: %s",
		strings.Join(e.Names, ", "), strings.Join(names, ", "))
}
