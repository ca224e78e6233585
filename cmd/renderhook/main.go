// Command renderhook is the rendering API server and its admin commands.
package main

import (
	"os"

	"github.com/renderhook/renderhook/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}
