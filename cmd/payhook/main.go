package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

const usage = `usage: payhook <command>

commands:
  serve    receive webhooks on $PAYHOOK_ADDR (default :8080)
  send     post a signed test webhook to serve, as the provider would ("payhook send -h")
  inbox    list, replay and discard the entries serve forwards through ("payhook inbox -h")
  expect   add, list and cancel the payments serve expects ("payhook expect -h")
  sandbox  play the providers on 127.0.0.1:8090: APIs, checkout pages, webhooks ("payhook sandbox -h")

Run "go doc github.com/payhook/payhook/cmd/payhook" for the environment it reads.
`

// run is main without the process: it returns the exit code.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var cmd func(ctx context.Context, args []string, cfg *config, stdout, stderr io.Writer) error
	switch args[0] {
	case "serve":
		cmd = func(ctx context.Context, args []string, cfg *config, stdout, stderr io.Writer) error {
			return serve(ctx, args, cfg, stdout, stderr, nil)
		}
	case "send":
		cmd = send
	case "inbox":
		cmd = inboxCmd
	case "expect":
		cmd = expectCmd
	case "sandbox":
		cmd = func(ctx context.Context, args []string, cfg *config, stdout, stderr io.Writer) error {
			return runSandbox(ctx, args, cfg, stdout, stderr, nil)
		}
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "payhook: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	cfg, err := loadConfig(getenv) // the only place the environment is read
	if err == nil {
		err = cmd(ctx, args[1:], cfg, stdout, stderr)
	}
	if err != nil {
		fmt.Fprintln(stderr, "payhook:", err)
		return 1
	}
	return 0
}
