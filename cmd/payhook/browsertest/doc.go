// Package browsertest drives payhook sandbox and payhook serve, built and
// run as real processes, from headless Chromium (Debian's chromium package)
// through github.com/chromedp/chromedp: it pays a Kazawallet link made with
// kazawallet.Client, fails a KKiaPay transaction whose merchant answers 500
// three times before 200, and completes a KasperoPay payment that serve
// confirms with the sandbox's status API, and takes the screenshots of
// docs/sandbox.md.
//
// It is a module of its own so that installing payhook never downloads
// chromedp. Run it with the others by ./scripts/test, which installs
// Chromium when it is missing; without Chromium the test is skipped, and
// fails under CI=1. To refresh the screenshots in docs/img:
//
//	go test -run TestBrowser -update
package browsertest
