// Package grafana holds payhook's Grafana dashboard, payhook.json in this
// directory, for the metrics of github.com/payhook/payhook/observe/prometheus
// (or of github.com/payhook/payhook/observe/otel through a Prometheus
// exporter): webhooks per second by outcome and by provider, refusals by
// reason, the share not acknowledged, p50 and p99 latency, the time per
// step, the inbox's entries by state and its attempts by result. Import the
// file in Grafana (Dashboards, New, Import), or provision it from
// [Dashboard].
//
// The command tools/dashboard, in the repository, draws the picture of the
// dashboard in the docs from a real run: see its documentation.
package grafana

import (
	_ "embed"
	"slices"
)

//go:embed payhook.json
var dashboard []byte

// Dashboard returns the dashboard's JSON, as Grafana imports it. The
// caller may modify the slice: it is a copy.
func Dashboard() []byte { return slices.Clone(dashboard) }
