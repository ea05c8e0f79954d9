// Command clickstream runs the stages of the click pipeline. See the README
// for the subcommands and the configuration file.
package main

import "os"

func main() {
	os.Exit(run(os.Args[1:]))
}
