package brazeapi

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/brazenhq/brazen/internal/ratelimit"
)

// A limit group is one rate-limit bucket per workspace. Endpoints without a
// limit of their own share gDefault, as in Braze; endpoints whose Braze
// limit is "shared" share a group; the rest have a group each.
const (
	gDefault = iota
	gTrack
	gTrackSync
	gTrackBulk
	gIdentity
	gRename
	gRemove
	gExportIDs
	gListing
	gCampaignSeries
	gSendIDs
	gSubscriptionSet
	gPrefCenterList
	gPrefCenterGet
	gPrefCenterURL
	gPrefCenterCreate
	gPrefCenterUpdate
	gCatalogs
	gCatalogFields
	gCatalogItemsAsync
	gCatalogItemsSync
	gSCIM
	gCDIList
	gCDISync
	gCDIStatus
	gMediaCreate
	gMediaReplace
	gCampaignDuplicate
	gCanvasDuplicate
	numGroups
)

// LimitGroup describes a rate-limit group and its Braze default.
type LimitGroup struct {
	Name  string
	Limit ratelimit.Limit
}

func per(n int64, window time.Duration) ratelimit.Limit {
	return ratelimit.Limit{N: n, Window: window}
}

const day = 24 * time.Hour

// limitGroups holds Braze's documented default for every group, indexed by
// the constants above.
var limitGroups = [numGroups]LimitGroup{
	gDefault:           {"default", per(250_000, time.Hour)},
	gTrack:             {"users.track", per(3_000, 3*time.Second)},
	gTrackSync:         {"users.track.sync", per(500, time.Minute)},
	gTrackBulk:         {"users.track.bulk", per(50, time.Second)},
	gIdentity:          {"users.identity", per(20_000, time.Minute)},
	gRename:            {"users.external_ids.rename", per(1_000, time.Minute)},
	gRemove:            {"users.external_ids.remove", per(1_000, time.Minute)},
	gExportIDs:         {"users.export.ids", per(250, time.Minute)},
	gListing:           {"listing", per(1_000, time.Hour)},
	gCampaignSeries:    {"campaigns.data_series", per(50_000, time.Minute)},
	gSendIDs:           {"sends.id.create", per(100, day)},
	gSubscriptionSet:   {"subscription.status.set", per(5_000, time.Minute)},
	gPrefCenterList:    {"preference_center.list", per(1_000, time.Minute)},
	gPrefCenterGet:     {"preference_center.get", per(1_000, time.Minute)},
	gPrefCenterURL:     {"preference_center.user.get", per(1_000, time.Minute)},
	gPrefCenterCreate:  {"preference_center.create", per(10, time.Minute)},
	gPrefCenterUpdate:  {"preference_center.update", per(10, time.Minute)},
	gCatalogs:          {"catalogs", per(50, time.Minute)},
	gCatalogFields:     {"catalogs.fields_selections", per(50, time.Minute)},
	gCatalogItemsAsync: {"catalogs.items_async", per(16_000, time.Minute)},
	gCatalogItemsSync:  {"catalogs.items_sync", per(50, time.Minute)},
	gSCIM:              {"scim", per(5_000, day)},
	gCDIList:           {"cdi.integration_list", per(50, time.Minute)},
	gCDISync:           {"cdi.integration_sync", per(20, time.Minute)},
	gCDIStatus:         {"cdi.integration_job_status", per(100, time.Minute)},
	gMediaCreate:       {"media_library.create", per(100, time.Hour)},
	gMediaReplace:      {"media_library.replace", per(100, time.Hour)},
	gCampaignDuplicate: {"campaigns.duplicate", per(100, time.Minute)},
	gCanvasDuplicate:   {"canvas.duplicate", per(100, time.Minute)},
}

// LimitGroups returns every rate-limit group with its Braze default.
func LimitGroups() []LimitGroup { return limitGroups[:] }

// ResolveLimits turns overrides into one limit per group. A key is either a
// group name ("users.identity", "default") or an endpoint path
// ("/users/track", or "POST /users/track"), which names the endpoint's group:
// overriding one endpoint of a shared group overrides the whole group, since
// the group is one bucket.
func ResolveLimits(overrides map[string]ratelimit.Limit) ([numGroups]ratelimit.Limit, error) {
	var out [numGroups]ratelimit.Limit
	for i, g := range limitGroups {
		out[i] = g.Limit
	}
	keys := make([]string, 0, len(overrides))
	for k := range overrides {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		g, err := groupOf(k)
		if err != nil {
			return out, err
		}
		out[g] = overrides[k]
	}
	return out, nil
}

func groupNames() []string {
	var names []string
	for _, g := range limitGroups {
		names = append(names, g.Name)
	}
	return names
}

func groupOf(key string) (int, error) {
	for i, g := range limitGroups {
		if g.Name == key {
			return i, nil
		}
	}
	method, path, hasMethod := strings.Cut(key, " ")
	if !hasMethod {
		method, path = "", key
	}
	found := -1
	for _, e := range endpointTable {
		if e.path() != path || (method != "" && e.method() != method) {
			continue
		}
		if found >= 0 && found != e.group {
			return 0, fmt.Errorf("%q: its methods are in different rate-limit groups; name one, e.g. %q", key, e.pattern)
		}
		found = e.group
	}
	if found < 0 {
		return 0, fmt.Errorf("%q is neither an endpoint path nor a rate-limit group; groups are: %s",
			key, strings.Join(groupNames(), ", "))
	}
	return found, nil
}
