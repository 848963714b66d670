package main

// load attack: the load scenario of issue 17's "Done when". payhook serve
// runs behind a trusted proxy address (127.0.0.1, PAYHOOK_TRUSTED_PROXIES),
// forwarding to an application, KasperoPay confirmed by a status API that
// answers "pending" for every forged payment; for a bounded time it gets
// a flood of junk, of forged unsigned KasperoPay bodies, slow-body
// connections that send a byte at a time, and scrapes of the public
// port's /metrics, while genuine signed Kazawallet webhooks arrive from
// distinct forwarded clients. Every one of them must be acknowledged and
// reach the application once; serve's resident memory must stay under a
// bound. All traffic goes to 127.0.0.1.

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/payhook/payhook/providers/kazawallet"
)

// attackConfig is load attack's flags.
type attackConfig struct {
	payhook          string
	duration         time.Duration
	genuine, slow    int
	junkers, forgers int
	rssBoundMB       int
	drain            time.Duration
	attackers        int
	rate             int
}

func attack(args []string) error {
	var c attackConfig
	fs := flag.NewFlagSet("load attack", flag.ExitOnError)
	fs.StringVar(&c.payhook, "payhook", "", "the payhook binary (required)")
	fs.DurationVar(&c.duration, "duration", 30*time.Second, "how long the attack lasts")
	fs.IntVar(&c.genuine, "genuine", 200, "genuine signed webhooks, each from its own forwarded client")
	fs.IntVar(&c.slow, "slow", 500, "slow-body connections held open at once")
	fs.IntVar(&c.junkers, "junk", 4, "senders of junk, one forwarded address each")
	fs.IntVar(&c.forgers, "forged", 4, "senders of forged unsigned KasperoPay bodies, one forwarded address each")
	fs.IntVar(&c.attackers, "slow-clients", 5, "forwarded addresses the slow connections come from")
	fs.IntVar(&c.rssBoundMB, "rss-bound", 150, "the bound on serve's resident memory, MB")
	fs.IntVar(&c.rate, "rate", 200, "requests a second, at most, of each junk, forged and scraping sender")
	fs.DurationVar(&c.drain, "drain", 2*time.Minute, "how long to wait, after the attack, for the genuine events to reach the application")
	fs.Parse(args)
	if c.payhook == "" {
		return errors.New("load attack: --payhook BIN is required")
	}
	return runAttack(c)
}

// statusAPI is KasperoPay's status API for the attack: every payment is
// "pending" (anyone can create an unpaid payment), and each call is
// counted by payment id.
type statusAPI struct {
	mu    sync.Mutex
	calls map[string]int
}

func (s *statusAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id, ok := strings.CutPrefix(r.URL.Path, "/pay/status/")
	if !ok {
		http.NotFound(w, r)
		return
	}
	s.mu.Lock()
	s.calls[id]++
	s.mu.Unlock()
	fmt.Fprintf(w, `{"payment_id":%q,"status":"pending","amount_kas":150.5,"amount_usd":15.05,"txid":"","store_name":"Load","expires_at":%q}`,
		id, time.Now().UTC().Add(15*time.Minute).Format(time.RFC3339))
}

// app is the application serve forwards to: it takes every event, and
// counts each webhook-id.
type app struct {
	mu  sync.Mutex
	ids map[string]int
}

func (a *app) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	a.mu.Lock()
	a.ids[r.Header.Get("Webhook-Id")]++
	a.mu.Unlock()
}

// serveLocal serves h on a free loopback port and returns its URL.
func serveLocal(h http.Handler) (string, func()) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String(), func() { srv.Close() }
}

// tally counts answers by kind.
type tally struct {
	mu sync.Mutex
	n  map[string]int
}

func (t *tally) add(kind string) {
	t.mu.Lock()
	if t.n == nil {
		t.n = map[string]int{}
	}
	t.n[kind]++
	t.mu.Unlock()
}

func (t *tally) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range t.n {
			if !yield(k) {
				return
			}
		}
	})
	var parts []string
	total := 0
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s: %d", k, t.n[k]))
		total += t.n[k]
	}
	return fmt.Sprintf("%d (%s)", total, strings.Join(parts, ", "))
}

// post sends body to url from the forwarded client, and returns the
// answer's status, or the error's kind.
func post(ctx context.Context, client *http.Client, url, from, body string) string {
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		return "error"
	}
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("X-Forwarded-For", from)
	res, err := client.Do(r)
	if err != nil {
		if ctx.Err() != nil {
			return "cut at the end"
		}
		return "no answer"
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return strconv.Itoa(res.StatusCode)
}

func runAttack(c attackConfig) error {
	dir, err := os.MkdirTemp("", "payhook-attack-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	api := &statusAPI{calls: map[string]int{}}
	apiURL, stopAPI := serveLocal(api)
	defer stopAPI()
	application := &app{ids: map[string]int{}}
	appURL, stopApp := serveLocal(application)
	defer stopApp()

	cmd := exec.Command(c.payhook, "serve")
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		"PAYHOOK_ADDR=127.0.0.1:0", "PAYHOOK_ADMIN_ADDR=127.0.0.1:0", "PAYHOOK_TRUSTED_PROXIES=127.0.0.1",
		"KAZAWALLET_API_KEY=" + apiKey, "KAZAWALLET_API_SECRET=" + apiSecret,
		"KASPEROPAY_ENABLED=1", "KASPEROPAY_API_URL=" + apiURL,
		"PAYHOOK_FORWARD_URL=" + appURL + "/events", "PAYHOOK_FORWARD_SECRET=whsec_bG9hZC10ZXN0LWZvcndhcmQtc2VjcmV0LTMyYnl0ZXM="}
	stdout, err := os.Create(filepath.Join(dir, "events.jsonl"))
	if err != nil {
		return err
	}
	defer stdout.Close()
	cmd.Stdout = stdout
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return err
	}
	defer cmd.Process.Kill()
	public, admin, logTail := watchLog(stderr)
	base := "http://" + public

	var peakRSS atomic.Int64
	stopRSS := sampleRSS(cmd.Process.Pid, &peakRSS)
	idleRSS := rssKB(cmd.Process.Pid)

	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	ctx, cancel := context.WithTimeout(context.Background(), c.duration)
	defer cancel()
	var wg sync.WaitGroup
	var junk, forged, slowAnswers, scrapes, genuine tally
	var slowOpened atomic.Int64
	forgedIDs := map[string]bool{}
	var forgedMu sync.Mutex

	for i := range c.junkers {
		from := fmt.Sprintf("192.0.2.%d", 1+i)
		goWG(&wg, func() {
			for n := 0; pace(ctx, c.rate, n); n++ {
				path := []string{"/webhooks/kazawallet", "/webhooks/kasperopay"}[n%2]
				body := make([]byte, 64+rand.IntN(4096))
				for j := range body {
					body[j] = byte(' ' + rand.IntN(90))
				}
				junk.add(post(ctx, client, base+path, from, string(body)))
			}
		})
	}
	for i := range c.forgers {
		from := fmt.Sprintf("192.0.2.%d", 11+i)
		goWG(&wg, func() {
			for n := 0; pace(ctx, c.rate, n); n++ {
				id := fmt.Sprintf("pay_forged_%d_%d", i, n)
				forgedMu.Lock()
				forgedIDs[id] = true
				forgedMu.Unlock()
				body := fmt.Sprintf(`{"event":"payment.completed","timestamp":%q,"merchant_id":"kpm_load","payment_id":%q,`+
					`"order_id":null,"amount_kas":150.5,"amount_usd":null,"transaction_id":"tx_%s","customer_address":null,"item":"%s"}`,
					time.Now().UTC().Format(time.RFC3339Nano), id, id, strings.Repeat("x", rand.IntN(2048)))
				forged.add(post(ctx, client, base+"/webhooks/kasperopay", from, body))
			}
		})
	}
	for i := range c.slow {
		from := fmt.Sprintf("192.0.2.%d", 21+i%c.attackers)
		goWG(&wg, func() { dripLoop(ctx, public, from, &slowOpened, &slowAnswers) })
	}
	for range 2 {
		goWG(&wg, func() {
			for n := 0; pace(ctx, c.rate, n); n++ {
				r, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
				res, err := client.Do(r)
				if err != nil {
					continue
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				scrapes.add(strconv.Itoa(res.StatusCode))
			}
		})
	}
	// The genuine webhooks, spread over the attack, each from its own
	// client, on a client of their own (a provider's own connections).
	genuineClient := &http.Client{Timeout: 30 * time.Second}
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	orders := make([]string, c.genuine)
	goWG(&wg, func() {
		every := c.duration / time.Duration(c.genuine+1)
		for i := range c.genuine {
			select {
			case <-ctx.Done():
			case <-time.After(every):
			}
			id := fmt.Sprintf("ord_%s_%03d", run, i)
			orders[i] = id
			body := fmt.Sprintf(`{"order_id":%q,"secret":%q,"amount":"10.00","ref":"load","status":"fulfilled","currency":"USD"}`,
				id, kazawallet.Sign(apiKey, apiSecret, "10.00", id))
			from := fmt.Sprintf("100.64.%d.%d", i/250, 1+i%250)
			genuine.add(post(context.Background(), genuineClient, base+"/webhooks/kazawallet", from, body))
		}
	})
	wg.Wait()
	attackRSS := peakRSS.Load()

	// The genuine events reach the application through the inbox, behind
	// the forged entries: wait for them.
	deadline := time.Now().Add(c.drain)
	var arrived, once int
	for {
		application.mu.Lock()
		arrived, once = 0, 0
		for _, id := range orders {
			if n := application.ids["kazawallet:"+id]; n > 0 {
				arrived++
				if n == 1 {
					once++
				}
			}
		}
		application.mu.Unlock()
		if arrived == c.genuine || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	metrics := scrapeAdmin(admin)
	stopRSS()
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()

	api.mu.Lock()
	calls, most, idsCalled := 0, 0, 0
	for id, n := range api.calls {
		if strings.HasPrefix(id, "pay_forged_") {
			calls += n
			most = max(most, n)
			idsCalled++
		}
	}
	api.mu.Unlock()

	fmt.Printf("attack: %s against payhook serve behind a trusted proxy (127.0.0.1), forwarding through SQLite\n", c.duration)
	fmt.Printf("  junk bodies (%d clients)            %s\n", c.junkers, &junk)
	fmt.Printf("  forged unsigned KasperoPay (%d clients) %s, %d payment ids\n", c.forgers, &forged, len(forgedIDs))
	fmt.Printf("  slow-body connections (%d at once, %d clients) %d opened; answers %s\n", c.slow, c.attackers, slowOpened.Load(), &slowAnswers)
	fmt.Printf("  public /metrics scrapes              %s\n", &scrapes)
	fmt.Printf("  genuine signed webhooks (%d clients) %s\n", c.genuine, &genuine)
	fmt.Printf("  genuine events at the application    %d of %d, %d exactly once\n", arrived, c.genuine, once)
	fmt.Printf("  status API calls for forged ids      %d for %d ids called (of %d sent): %.2f per id called, at most %d for one\n",
		calls, idsCalled, len(forgedIDs), float64(calls)/float64(max(idsCalled, 1)), most)
	fmt.Printf("  serve's RSS                          %d MB idle, %d MB peak during the attack, %d MB peak overall (bound %d MB)\n",
		idleRSS/1024, attackRSS/1024, peakRSS.Load()/1024, c.rssBoundMB)
	for _, s := range []string{`payhook_serve_refused_total{limit="client_requests"}`, `payhook_serve_refused_total{limit="requests"}`,
		`payhook_serve_refused_total{limit="peer_connections"}`, `payhook_serve_refused_total{limit="connections"}`,
		`payhook_webhooks_total{outcome="rejected",provider="kasperopay"}`, `payhook_webhooks_total{outcome="rejected",provider="kazawallet"}`,
		`payhook_inbox_entries{provider="kasperopay",state="pending"}`, `payhook_inbox_entries{provider="kazawallet",state="done"}`} {
		fmt.Printf("  %-70s %s\n", s, sampleOf(metrics, s))
	}

	var failures []string
	if genuine.n["200"] != c.genuine {
		failures = append(failures, fmt.Sprintf("%d of %d genuine webhooks acknowledged", genuine.n["200"], c.genuine))
	}
	if once != c.genuine {
		failures = append(failures, fmt.Sprintf("%d of %d genuine events reached the application exactly once", once, c.genuine))
	}
	if peakRSS.Load()/1024 > int64(c.rssBoundMB) {
		failures = append(failures, fmt.Sprintf("serve's RSS reached %d MB, over the bound of %d MB", peakRSS.Load()/1024, c.rssBoundMB))
	}
	if scrapes.n["404"] != sum(scrapes.n) {
		failures = append(failures, "the public port answered /metrics with something else than 404: "+scrapes.String())
	}
	if len(failures) > 0 {
		fmt.Fprintln(os.Stderr, "serve's log, last lines:\n"+logTail())
		return errors.New("load attack: " + strings.Join(failures, "; "))
	}
	return nil
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// dripLoop keeps one slow-body connection open to addr from the
// forwarded client until ctx is done: the headers of a webhook of 200 kB,
// then its body a byte every half second. When serve answers or closes
// it, it opens another after a second.
func dripLoop(ctx context.Context, addr, from string, opened *atomic.Int64, answers *tally) {
	for ctx.Err() == nil {
		c, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		if err != nil {
			answers.add("dial failed")
			wait(ctx, time.Second)
			continue
		}
		opened.Add(1)
		answered := make(chan string, 1)
		go func() {
			res, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				answered <- "closed"
				return
			}
			res.Body.Close()
			answered <- strconv.Itoa(res.StatusCode)
		}()
		_, err = fmt.Fprintf(c, "POST /webhooks/kazawallet HTTP/1.1\r\nHost: payhook\r\nContent-Type: application/json\r\n"+
			"X-Forwarded-For: %s\r\nContent-Length: 200000\r\n\r\n{", from)
		tick := time.NewTicker(500 * time.Millisecond)
	drip:
		for err == nil {
			select {
			case a := <-answered:
				answers.add(a)
				break drip
			case <-ctx.Done():
				break drip
			case <-tick.C:
				_, err = c.Write([]byte(" "))
			}
		}
		tick.Stop()
		c.Close()
		if err != nil {
			answers.add(<-answered)
		}
		wait(ctx, time.Second)
	}
}

func wait(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// listening finds the addresses in serve's start-up lines.
var listening = regexp.MustCompile(`msg="payhook( admin)?: listening" addr=(\S+)`)

// watchLog reads serve's log until both listeners are up, then keeps its
// last lines, for a failure's report.
func watchLog(r io.Reader) (public, admin string, tail func() string) {
	sc := bufio.NewScanner(r)
	var mu sync.Mutex
	var last []string
	keep := func(l string) {
		mu.Lock()
		last = append(last, l)
		if len(last) > 40 {
			last = last[1:]
		}
		mu.Unlock()
	}
	for (public == "" || admin == "") && sc.Scan() {
		keep(sc.Text())
		if m := listening.FindStringSubmatch(sc.Text()); m != nil {
			if m[1] == "" {
				public = m[2]
			} else {
				admin = m[2]
			}
		}
	}
	if public == "" || admin == "" {
		log.Fatalf("payhook serve did not start:\n%s", strings.Join(last, "\n"))
	}
	go func() {
		for sc.Scan() {
			keep(sc.Text())
		}
	}()
	return public, admin, func() string {
		mu.Lock()
		defer mu.Unlock()
		return strings.Join(last, "\n")
	}
}

// rssKB reads the resident memory of the process pid, in KiB.
func rssKB(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// sampleRSS records the peak of pid's resident memory, every 100 ms, until
// the returned func is called.
func sampleRSS(pid int, peak *atomic.Int64) func() {
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			if kb := rssKB(pid); kb > peak.Load() {
				peak.Store(kb)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() { close(done); <-stopped }
}

// scrapeAdmin returns serve's metrics, from its admin listener.
func scrapeAdmin(admin string) string {
	res, err := http.Get("http://" + admin + "/metrics")
	if err != nil {
		return ""
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

// sampleOf returns the value of a series in a Prometheus exposition.
func sampleOf(exposition, series string) string {
	for _, l := range strings.Split(exposition, "\n") {
		if v, ok := strings.CutPrefix(l, series+" "); ok {
			return v
		}
	}
	return "-"
}

// goWG runs f in a goroutine that wg waits for.
func goWG(wg *sync.WaitGroup, f func()) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		f()
	}()
}

// pace waits before a sender's next request, so that it sends at most
// rate requests a second, and reports whether it may (ctx is not done).
func pace(ctx context.Context, rate, _ int) bool {
	wait(ctx, time.Second/time.Duration(max(rate, 1)))
	return ctx.Err() == nil
}
