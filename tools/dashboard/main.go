// Command dashboard draws the picture of payhook's Grafana dashboard
// (docs/img/observability-dashboard.png) from a real run, where no Grafana
// is at hand:
//
//  1. it starts a payhook receiver on 127.0.0.1 (Kazawallet through an
//     inbox, KKiaPay straight to its handler), with the Prometheus adapter
//     serving GET /metrics;
//  2. it starts a real Prometheus (the prometheus binary, Debian's package
//     "prometheus") scraping that receiver every second;
//  3. it sends the receiver real signed webhooks over loopback for the
//     -duration, in phases: steady traffic with a few duplicates and
//     malformed bodies, a burst of forged Kazawallet webhooks, an outage of
//     the application's database (KKiaPay's handler fails and KKiaPay
//     retries; the inbox's attempts fail and some entries die), a slow
//     handler;
//  4. it asks that Prometheus for each panel's query of payhook.json,
//     exactly as written there ($__rate_interval as 10s, $provider as all),
//     over the run, one point a second;
//  5. it draws each panel's series, in Grafana's dark theme and layout, to
//     a PNG.
//
// Usage, from tools/dashboard (a module of its own, so that the published
// observe/grafana module does not require golang.org/x/image):
//
//	go run . -out ../../docs/img/observability-dashboard.png
//
// -save data.json keeps the query results, and -load data.json draws them
// again without a run.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	prom "github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/deliver"
	"github.com/payhook/payhook/inbox"
	"github.com/payhook/payhook/observe/grafana"
	"github.com/payhook/payhook/observe/prometheus"
	"github.com/payhook/payhook/providers/kazawallet"
	"github.com/payhook/payhook/providers/kazawallet/kazawallettest"
	"github.com/payhook/payhook/providers/kkiapay"
	"github.com/payhook/payhook/providers/kkiapay/kkiapaytest"
)

func main() {
	out := flag.String("out", "observability-dashboard.png", "the PNG to write")
	duration := flag.Duration("duration", 150*time.Second, "how long the load runs")
	promBin := flag.String("prometheus", "prometheus", "the Prometheus server binary")
	save := flag.String("save", "", "write the query results to this JSON file")
	load := flag.String("load", "", "draw the query results of this JSON file instead of running")
	flag.Parse()
	log.SetFlags(0)

	var panels []panelData
	if *load != "" {
		b, err := os.ReadFile(*load)
		if err == nil {
			err = json.Unmarshal(b, &panels)
		}
		if err != nil {
			log.Fatal(err)
		}
	} else {
		var err error
		if panels, err = run(*promBin, *duration); err != nil {
			log.Fatal(err)
		}
	}
	if *save != "" {
		b, _ := json.MarshalIndent(panels, "", " ")
		if err := os.WriteFile(*save, b, 0o644); err != nil {
			log.Fatal(err)
		}
	}
	if err := render(*out, panels); err != nil {
		log.Fatal(err)
	}
	log.Printf("wrote %s", *out)
}

// panelData is one panel and the series its queries returned.
type panelData struct {
	Title   string            `json:"title"`
	Unit    string            `json:"unit"`
	Stacked bool              `json:"stacked"`
	Colors  map[string]string `json:"colors,omitempty"` // by series name
	Series  []series          `json:"series"`
	Queries []string          `json:"queries"`
}

type series struct {
	Name string    `json:"name"`
	T    []float64 `json:"t"` // unix seconds
	V    []float64 `json:"v"`
}

// run runs the receiver, Prometheus and the load, and returns each panel's
// query results.
func run(promBin string, d time.Duration) ([]panelData, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	addr, stop, err := receiver(ctx)
	if err != nil {
		return nil, err
	}
	defer stop()
	promURL, stopProm, err := startPrometheus(promBin, addr)
	if err != nil {
		return nil, err
	}
	defer stopProm()

	start := time.Now()
	log.Printf("receiver on %s, Prometheus on %s; sending webhooks for %v", addr, promURL, d)
	sendLoad(ctx, "http://"+addr, d)
	end := time.Now()
	time.Sleep(3 * time.Second) // two more scrapes: the run's last second is in
	return queryPanels(promURL, start.Add(5*time.Second), end)
}

// dbDown and slow are the application's state, which the load changes.
var dbDown, slow atomic.Bool

// work is the application's database write.
func work(ctx context.Context) error {
	if dbDown.Load() {
		return errors.New("database down")
	}
	d := time.Duration(1000+rand.IntN(6000)) * time.Microsecond
	if rand.IntN(50) == 0 {
		d += time.Duration(rand.IntN(40)) * time.Millisecond
	}
	if slow.Load() {
		d += time.Duration(40+rand.IntN(120)) * time.Millisecond
	}
	return deliver.Sleep(ctx, d)
}

// receiver starts payhook on a free port of 127.0.0.1.
func receiver(ctx context.Context) (addr string, stop func(), err error) {
	ib, err := inbox.New(inbox.NewMemory(), inbox.WithMaxAttempts(4), inbox.WithBackoff(2*time.Second, 8*time.Second), inbox.WithWorkers(4))
	if err != nil {
		return "", nil, err
	}
	metrics, err := prometheus.New(prometheus.WithInbox(ib), prometheus.WithProviders(kazawallet.Name, kkiapay.Name))
	if err != nil {
		return "", nil, err
	}
	registry := prom.NewRegistry()
	registry.MustRegister(metrics)
	obs := payhook.WithObserver(metrics.Observer())

	kw, err := kazawallet.New("api-key", "api-secret")
	if err != nil {
		return "", nil, err
	}
	kk, err := kkiapay.New("hash-secret")
	if err != nil {
		return "", nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("POST /webhooks/kazawallet", payhook.Handle(kw, func(ctx context.Context, e kazawallet.Event) error {
		return work(ctx)
	}, payhook.WithInbox(ib), obs))
	mux.Handle("POST /webhooks/kkiapay", payhook.Handle(kk, func(ctx context.Context, e kkiapay.Event) error {
		return work(ctx)
	}, obs))
	mux.Handle("GET /metrics", promhttp.HandlerFor(registry, promhttp.HandlerOpts{}))

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	runCtx, cancel := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- ib.Run(runCtx) }()
	return ln.Addr().String(), func() {
		srv.Close()
		cancel()
		<-ran
	}, nil
}

// startPrometheus runs Prometheus, scraping addr every second, until stop.
func startPrometheus(bin, addr string) (base string, stop func(), err error) {
	dir, err := os.MkdirTemp("", "payhook-render-")
	if err != nil {
		return "", nil, err
	}
	config := fmt.Sprintf("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: payhook\n    static_configs:\n      - targets: [%q]\n", addr)
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(config), 0o644); err != nil {
		return "", nil, err
	}
	port, err := freePort()
	if err != nil {
		return "", nil, err
	}
	listen := "127.0.0.1:" + strconv.Itoa(port)
	cmd := exec.Command(bin, "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+listen, "--log.level=warn")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("starting Prometheus (apt-get install prometheus): %w", err)
	}
	stop = func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		os.RemoveAll(dir)
	}
	base = "http://" + listen
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := http.Get(base + "/-/ready")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return base, stop, nil
			}
		}
		if time.Now().After(deadline) {
			stop()
			return "", nil, errors.New("prometheus did not become ready")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// sendLoad sends webhooks to base for d, in phases (fractions of d):
// steady traffic throughout; forged Kazawallet webhooks in [0.25, 0.42);
// the database down in [0.55, 0.70); a slow handler in [0.80, 0.90).
func sendLoad(ctx context.Context, base string, d time.Duration) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 10 * time.Second}
	kwSender := kazawallettest.Sender{APIKey: "api-key", APISecret: "api-secret"}
	kkSender := kkiapaytest.Sender{Secret: "hash-secret"}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	send := func(r func() *http.Request, retries int) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for try := 0; ; try++ {
				sem <- struct{}{} // not held while waiting to retry
				res, err := client.Do(r())
				if err == nil {
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
				}
				<-sem
				if err == nil && res.StatusCode < 300 {
					return
				}
				if try >= retries { // KKiaPay retries until a 2xx; Kazawallet sends once
					return
				}
				time.Sleep(time.Duration(1+try) * time.Second)
			}
		}()
	}
	kwEvent := func(id string) kazawallet.Event {
		return kazawallet.Event{OrderID: id, Amount: payhook.MustAmount(fmt.Sprintf("%d.00", 5+rand.IntN(200))), Type: kazawallet.Fulfilled, Currency: "USD"}
	}
	kkEvent := func(id string) kkiapay.Event {
		return kkiapay.Event{TransactionID: id, Type: kkiapay.TransactionSuccess, Amount: payhook.MustAmount(strconv.Itoa(100 * (1 + rand.IntN(50))))}
	}
	start := time.Now()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var n int
	var recentKW []kazawallet.Event
	for now := range tick.C {
		f := float64(now.Sub(start)) / float64(d)
		if f >= 1 || ctx.Err() != nil {
			break
		}
		dbDown.Store(f >= 0.55 && f < 0.70)
		slow.Store(f >= 0.80 && f < 0.90)
		n++
		// a gentle swell of the traffic, as a day's would
		wave := 1 + 0.35*sinApprox(f*6.28*1.5)
		if rand.Float64() < 0.45*wave { // Kazawallet, ~22/s
			e := kwEvent(fmt.Sprintf("lnk_%d", n))
			recentKW = append(recentKW, e)
			if len(recentKW) > 64 {
				recentKW = recentKW[1:]
			}
			send(func() *http.Request { return kwSender.Request(base+"/webhooks/kazawallet", e) }, 0)
		}
		if rand.Float64() < 0.30*wave { // KKiaPay, ~15/s, retried until 2xx
			e := kkEvent(fmt.Sprintf("tx_%d", n))
			send(func() *http.Request { return kkSender.Request(base+"/webhooks/kkiapay", e) }, 4)
			if rand.IntN(25) == 0 { // a resend while the first is processed: in flight
				send(func() *http.Request { return kkSender.Request(base+"/webhooks/kkiapay", e) }, 0)
			}
		}
		if rand.IntN(30) == 0 && len(recentKW) > 0 { // a duplicate
			e := recentKW[rand.IntN(len(recentKW))]
			send(func() *http.Request { return kwSender.Request(base+"/webhooks/kazawallet", e) }, 0)
		}
		if rand.IntN(60) == 0 { // a malformed body
			send(func() *http.Request {
				r, _ := http.NewRequest(http.MethodPost, base+"/webhooks/kazawallet", strings.NewReader(`{"order_id":`))
				r.Header.Set("Content-Type", "application/json")
				return r
			}, 0)
		}
		if f >= 0.25 && f < 0.42 && rand.Float64() < 0.22 { // forgeries, ~11/s
			e := kwEvent(fmt.Sprintf("lnk_forged_%d", n))
			send(func() *http.Request { return kwSender.Forged(base+"/webhooks/kazawallet", e) }, 0)
		}
	}
	dbDown.Store(false)
	slow.Store(false)
	wg.Wait()
}

// sinApprox is math.Sin, for a smooth swell.
func sinApprox(x float64) float64 {
	// Bhaskara's approximation, folded onto [0, 2π).
	const pi = 3.141592653589793
	for x < 0 {
		x += 2 * pi
	}
	for x >= 2*pi {
		x -= 2 * pi
	}
	sign := 1.0
	if x > pi {
		x -= pi
		sign = -1
	}
	return sign * 16 * x * (pi - x) / (5*pi*pi - 4*x*(pi-x))
}

// queryPanels asks Prometheus for every target of every panel of the
// dashboard, over [start, end], one point a second.
func queryPanels(base string, start, end time.Time) ([]panelData, error) {
	var dash struct {
		Panels []struct {
			Title       string `json:"title"`
			FieldConfig struct {
				Defaults struct {
					Unit   string `json:"unit"`
					Custom struct {
						Stacking struct {
							Mode string `json:"mode"`
						} `json:"stacking"`
					} `json:"custom"`
				} `json:"defaults"`
				Overrides []struct {
					Matcher struct {
						Options string `json:"options"`
					} `json:"matcher"`
					Properties []struct {
						Value struct {
							FixedColor string `json:"fixedColor"`
						} `json:"value"`
					} `json:"properties"`
				} `json:"overrides"`
			} `json:"fieldConfig"`
			Targets []struct {
				Expr         string `json:"expr"`
				LegendFormat string `json:"legendFormat"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(grafana.Dashboard(), &dash); err != nil {
		return nil, err
	}
	var out []panelData
	for _, p := range dash.Panels {
		pd := panelData{Title: p.Title, Unit: p.FieldConfig.Defaults.Unit, Stacked: p.FieldConfig.Defaults.Custom.Stacking.Mode == "normal",
			Colors: make(map[string]string)}
		for _, o := range p.FieldConfig.Overrides {
			for _, prop := range o.Properties {
				if prop.Value.FixedColor != "" {
					pd.Colors[o.Matcher.Options] = prop.Value.FixedColor
				}
			}
		}
		for _, t := range p.Targets {
			expr := strings.NewReplacer("$__rate_interval", "10s", `=~"$provider"`, `=~".*"`).Replace(t.Expr)
			pd.Queries = append(pd.Queries, expr)
			ss, err := queryRange(base, expr, t.LegendFormat, start, end)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", p.Title, err)
			}
			pd.Series = append(pd.Series, ss...)
		}
		out = append(out, pd)
	}
	return out, nil
}

func queryRange(base, expr, legend string, start, end time.Time) ([]series, error) {
	q := url.Values{"query": {expr}, "start": {strconv.FormatInt(start.Unix(), 10)},
		"end": {strconv.FormatInt(end.Unix(), 10)}, "step": {"1"}}
	res, err := http.Get(base + "/api/v1/query_range?" + q.Encode())
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
				Values [][2]any          `json:"values"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		return nil, err
	}
	if body.Status != "success" {
		return nil, fmt.Errorf("query %s: %s", expr, body.Error)
	}
	var out []series
	for _, r := range body.Data.Result {
		name := legend
		for k, v := range r.Metric {
			name = strings.ReplaceAll(name, "{{"+k+"}}", v)
		}
		s := series{Name: name}
		for _, v := range r.Values {
			t, _ := v[0].(float64)
			text, _ := v[1].(string)
			f, err := strconv.ParseFloat(text, 64)
			if err != nil {
				continue
			}
			s.T = append(s.T, t)
			s.V = append(s.V, f)
		}
		out = append(out, s)
	}
	return out, nil
}
