package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"

	"go.uber.org/zap"
)

// command is one subcommand of the binary.
type command struct {
	name    string
	summary string
	// run executes the subcommand with its own flag set; it returns the
	// process exit code.
	run func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"edge", "serve redirects and publish raw hits to Kafka", runEdge},
		{"worker", "consume hits, enrich them, store them in ClickHouse and match webhooks", runWorker},
		{"dispatcher", "deliver signed webhook events with retries", runDispatcher},
		{"migrate", "create the ClickHouse database and tables", runMigrate},
		{"admin", "serve the webhook admin API on admin.listen", runAdmin},
		{"dev", "run every stage in one process with an embedded Kafka broker", runDev},
		{"enrich", "enrich raw hits read as NDJSON from stdin and write interactions to stdout", runEnrich},
		{"replay", "send the requests of a combined-format access log to an edge", runReplay},
		{"receiver", "run a webhook receiver that verifies signatures, for testing", runReceiver},
		{"summary", "print what ClickHouse holds: rows, bots, top countries, devices, browsers, referers", runSummary},
		{"reconcile", "compare hits produced to Kafka with ClickHouse per minute and project, exit 1 on a gap", runReconcile},
		{"accuracy", "measure enrichment accuracy on the corpora under testdata/", runAccuracy},
	}
}

// errUsage marks errors whose message is the usage text; it exits with 2.
var errUsage = errors.New("usage")

func run(args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "clickstream: missing command")
		fmt.Fprintln(os.Stderr)
		usage(os.Stderr)
		return 2
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(os.Stdout)
		return 0
	}

	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()

		err := c.run(ctx, args[1:], os.Stdout, os.Stderr)
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.Is(err, errUsage):
			return 2
		default:
			fmt.Fprintf(os.Stderr, "clickstream %s: %v\n", c.name, err)
			return 1
		}
	}

	fmt.Fprintf(os.Stderr, "clickstream: unknown command %q\n\n", args[0])
	usage(os.Stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: clickstream COMMAND [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	cmds := commands()
	sort.Slice(cmds, func(i, j int) bool { return cmds[i].name < cmds[j].name })
	for _, c := range cmds {
		fmt.Fprintf(w, "  %-11s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'clickstream COMMAND -h' for the flags of a command.")
}

// newFlags returns a flag set for a subcommand whose errors go to stderr.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("clickstream "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parseFlags parses args and turns a parse failure into errUsage, because
// the flag package has already printed the problem.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "unexpected argument %q\n", fs.Arg(0))
		return errUsage
	}
	return nil
}

// syncLogger flushes buffered log entries; errors from syncing a terminal
// are expected and ignored.
func syncLogger(log *zap.Logger) {
	_ = log.Sync()
}
