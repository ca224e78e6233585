package cli

import (
	"flag"
	"fmt"
	"os"
	"strings"
)

// envName derives a flag's environment variable: --max-renders reads
// RENDERHOOK_MAX_RENDERS.
func envName(flagName string) string {
	return "RENDERHOOK_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// parseFlags parses args, then fills every flag not given on the command
// line from its environment variable, or from the file named by the
// variable with a _FILE suffix (for secrets mounted as files).
func parseFlags(fs *flag.FlagSet, args []string) error {
	fs.VisitAll(func(f *flag.Flag) {
		f.Usage += " [$" + envName(f.Name) + "]"
	})
	if err := fs.Parse(args); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var firstErr error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || firstErr != nil {
			return
		}
		name := envName(f.Name)
		val, ok := os.LookupEnv(name)
		if !ok {
			path, ok := os.LookupEnv(name + "_FILE")
			if !ok {
				return
			}
			b, err := os.ReadFile(path)
			if err != nil {
				firstErr = fmt.Errorf("read %s_FILE: %w", name, err)
				return
			}
			val = strings.TrimSpace(string(b))
		}
		if err := f.Value.Set(val); err != nil {
			firstErr = fmt.Errorf("invalid %s=%q: %w", name, val, err)
		}
	})
	if firstErr == nil && fs.NArg() > 0 {
		firstErr = fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return firstErr
}
