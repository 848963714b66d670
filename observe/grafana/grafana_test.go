package grafana_test

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	prom "github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook/inbox"
	"github.com/payhook/payhook/observe/grafana"
	"github.com/payhook/payhook/observe/prometheus"
)

// dashboard is the part of Grafana's model the tests read.
type dashboard struct {
	UID    string  `json:"uid"`
	Title  string  `json:"title"`
	Panels []panel `json:"panels"`
}

type panel struct {
	ID      int    `json:"id"`
	Title   string `json:"title"`
	Type    string `json:"type"`
	GridPos struct {
		X, Y, W, H int
	} `json:"gridPos"`
	Targets []struct {
		Expr         string `json:"expr"`
		LegendFormat string `json:"legendFormat"`
	} `json:"targets"`
}

func load(t *testing.T) dashboard {
	var d dashboard
	require.NoError(t, json.Unmarshal(grafana.Dashboard(), &d))
	require.NotEmpty(t, d.Panels)
	return d
}

// exported returns the Prometheus adapter's families, each with its label
// names and the values each label takes.
func exported(t *testing.T) map[string]map[string]map[string]bool {
	reg := prom.NewRegistry()
	ib, err := inbox.New(inbox.NewMemory())
	require.NoError(t, err)
	m, err := prometheus.New(prometheus.WithInbox(ib), prometheus.WithProviders("kazawallet"))
	require.NoError(t, err)
	reg.MustRegister(m)
	families, err := reg.Gather()
	require.NoError(t, err)
	out := make(map[string]map[string]map[string]bool)
	for _, f := range families {
		labels := make(map[string]map[string]bool)
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if labels[l.GetName()] == nil {
					labels[l.GetName()] = make(map[string]bool)
				}
				labels[l.GetName()][l.GetValue()] = true
			}
		}
		out[f.GetName()] = labels
	}
	return out
}

var (
	selector = regexp.MustCompile(`(payhook_[a-z_]+)(\{[^}]*\})?`)
	matcher  = regexp.MustCompile(`([a-z_]+)\s*(=~|!~|!=|=)\s*"([^"]*)"`)
	by       = regexp.MustCompile(`by \(([^)]*)\)`)
	legend   = regexp.MustCompile(`\{\{\s*([a-z_]+)\s*\}\}`)
)

// Every query of the dashboard names a metric the Prometheus adapter
// exports, with labels it has and values they take, and groups by labels
// it has: a renamed metric or label breaks this test, not the dashboard.
func TestQueriesMatchTheExportedMetrics(t *testing.T) {
	families := exported(t)
	for _, p := range load(t).Panels {
		t.Run(p.Title, func(t *testing.T) {
			require.NotEmpty(t, p.Targets)
			for _, target := range p.Targets {
				sels := selector.FindAllStringSubmatch(target.Expr, -1)
				require.NotEmpty(t, sels, target.Expr)
				var labels map[string]map[string]bool
				for _, s := range sels {
					name := strings.TrimSuffix(s[1], "_bucket")
					var ok bool
					labels, ok = families[name]
					require.True(t, ok, "%s is not exported", s[1])
					for _, m := range matcher.FindAllStringSubmatch(s[2], -1) {
						values, ok := labels[m[1]]
						require.True(t, ok, "%s has no label %s", name, m[1])
						if m[3] == "$provider" {
							continue
						}
						for _, v := range strings.Split(m[3], "|") {
							assert.True(t, values[v], "%s{%s} never takes %q", name, m[1], v)
						}
					}
				}
				for _, g := range by.FindAllStringSubmatch(target.Expr, -1) {
					for _, l := range strings.Split(g[1], ",") {
						l = strings.TrimSpace(l)
						if l == "le" {
							continue
						}
						assert.Contains(t, labels, l, "grouped by a label the metric lacks")
					}
				}
				for _, l := range legend.FindAllStringSubmatch(target.LegendFormat, -1) {
					assert.Contains(t, target.Expr, "by (", "a legend label without a grouping")
					assert.Contains(t, labels, l[1], "legend label")
				}
			}
		})
	}
}

// The panels tile Grafana's 24-column grid without overlapping.
func TestPanelsTileTheGrid(t *testing.T) {
	d := load(t)
	assert.Equal(t, "payhook", d.UID)
	taken := make(map[[2]int]string)
	ids := make(map[int]bool)
	for _, p := range d.Panels {
		assert.False(t, ids[p.ID], "panel id %d twice", p.ID)
		ids[p.ID] = true
		assert.Equal(t, "timeseries", p.Type)
		assert.LessOrEqual(t, p.GridPos.X+p.GridPos.W, 24, p.Title)
		for x := p.GridPos.X; x < p.GridPos.X+p.GridPos.W; x++ {
			for y := p.GridPos.Y; y < p.GridPos.Y+p.GridPos.H; y++ {
				if other, ok := taken[[2]int{x, y}]; ok {
					t.Fatalf("%q overlaps %q", p.Title, other)
				}
				taken[[2]int{x, y}] = p.Title
			}
		}
	}
}

func TestDashboardIsACopy(t *testing.T) {
	b := grafana.Dashboard()
	b[0] = 'x'
	assert.Equal(t, byte('{'), grafana.Dashboard()[0])
}
