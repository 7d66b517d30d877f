// Package cli is the brazen command: one file per subcommand, each with its
// own flag set and --help, all reached through Run.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"

	"github.com/brazenhq/brazen/internal/brazen"
	"github.com/brazenhq/brazen/internal/config"
)

// Env is the process environment a command sees; tests replace it.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
}

// OSEnv returns the real process environment.
func OSEnv() *Env {
	return &Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}
}

// Exit statuses.
const (
	ExitOK      = 0
	ExitFailure = 1
	ExitUsage   = 2 // bad flags or an invalid setting
)

type command struct {
	summary string
	run     runFunc
}

var commands = map[string]command{
	"serve":    {"run the server: the Braze-compatible REST API and the admin API", runServe},
	"keys":     {"create, list and delete REST API keys", runKeys},
	"tokens":   {"create, list and delete admin API tokens", runTokens},
	"admins":   {"create, list and delete developer console accounts", runAdmins},
	"users":    {"look up user profiles", runUsers},
	"messages": {"show recent message deliveries and failures", runMessages},
	"migrate":  {"apply the store's schema migrations", runMigrate},
	"routes":   {"print the REST API's route table", runRoutes},
	"version":  {"print the version", runVersion},
	"bench":    {"drive a server with load and report throughput and latency", runBench},
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Brazen: a self-hostable, Braze-compatible customer engagement server.")
	fmt.Fprintln(w, "\nUsage: brazen COMMAND [flags]\n\nCommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-8s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'brazen COMMAND --help' for a command's flags.")
}

// Run runs the command line args (without the program name) and returns the
// process exit status.
func Run(ctx context.Context, env *Env, args []string) int {
	if len(args) == 0 {
		usage(env.Stderr)
		return ExitUsage
	}
	name := args[0]
	if name == "-h" || name == "--help" || name == "help" {
		usage(env.Stdout)
		return ExitOK
	}
	cmd, ok := commands[name]
	if !ok {
		fmt.Fprintf(env.Stderr, "brazen: unknown command %q\n\n", name)
		usage(env.Stderr)
		return ExitUsage
	}
	err := cmd.run(ctx, env, args[1:])
	var se *config.SettingError
	var ue usageError
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, flag.ErrHelp):
		return ExitOK
	case errors.As(err, &se), errors.As(err, &ue):
		fmt.Fprintf(env.Stderr, "brazen %s: %v\n", name, err)
		return ExitUsage
	case brazen.ErrorCode(err) == brazen.EINVALID:
		fmt.Fprintf(env.Stderr, "brazen %s: %v\n", name, userMessage(err))
		return ExitUsage
	default:
		fmt.Fprintf(env.Stderr, "brazen %s: %v\n", name, userMessage(err))
		return ExitFailure
	}
}

type runFunc func(ctx context.Context, env *Env, args []string) error

// dispatch runs the subcommand args[0] of a command whose help text is usage;
// what names the kind of subcommand in errors ("subcommand", "scenario").
func dispatch(ctx context.Context, env *Env, args []string, usage, what string, subs map[string]runFunc) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(env.Stderr, usage)
		if len(args) == 0 {
			return usageError("missing " + what)
		}
		return flag.ErrHelp
	}
	run, ok := subs[args[0]]
	if !ok {
		fmt.Fprint(env.Stderr, usage)
		return usageError(fmt.Sprintf("unknown %s %q", what, args[0]))
	}
	return run(ctx, env, args[1:])
}

// usageError is a mistake on the command line; it exits with status 2.
type usageError string

func (e usageError) Error() string { return string(e) }

// userMessage prints a brazen.Error by its details, which say what is wrong,
// rather than its HTTP-facing message.
func userMessage(err error) string {
	var e *brazen.Error
	if errors.As(err, &e) && len(e.Details) > 0 {
		return strings.Join(e.Details, "; ")
	}
	return err.Error()
}

// newFlagSet returns a flag set whose errors and help go to env.Stderr.
func newFlagSet(env *Env, name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet("brazen "+name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(env.Stderr, "Usage: brazen %s\n\nFlags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses args, allowing flags after positional arguments
// ("keys delete ID --data DIR"), and refuses more than max positional ones.
// The positional arguments are left in fs.Args().
func parse(fs *flag.FlagSet, args []string, max int) error {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return err
			}
			return usageError(err.Error())
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		if args[0] == "--" {
			pos = append(pos, args[1:]...)
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	if len(pos) > max {
		return usageError(fmt.Sprintf("unexpected argument %q", pos[max]))
	}
	fs.Parse(append([]string{"--"}, pos...)) // leaves pos in fs.Args()
	return nil
}

// newLogger builds the process logger from the configuration.
func newLogger(w io.Writer, format, level string) *slog.Logger {
	var lv slog.Level
	lv.UnmarshalText([]byte(level)) // validated by config
	opts := &slog.HandlerOptions{Level: lv}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
