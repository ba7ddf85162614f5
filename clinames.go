package main

import "github.com/urfave/cli/v2"

// urfave/cli recomputes a flag's names, with a regular expression per
// name, on every lookup, and when it starts a command it looks every flag
// up for every flag (runFlagActions, then Context.IsSet): with exec's 26
// flags that was ~600 regexp runs and 0.6 ms of each invocation's CPU.
// These wrappers keep the flag types, so every interface the library
// checks for still holds, and answer Names from a slice computed once.
// BoolFlag is left as it is: the help text asserts its concrete type.

type stringFlag struct {
	cli.StringFlag
	names []string
}

func (f *stringFlag) Names() []string { return f.names }

func strFlag(f cli.StringFlag) *stringFlag { return &stringFlag{f, f.Names()} }

type stringSliceFlag struct {
	cli.StringSliceFlag
	names []string
}

func (f *stringSliceFlag) Names() []string { return f.names }

func strSliceFlag(f cli.StringSliceFlag) *stringSliceFlag { return &stringSliceFlag{f, f.Names()} }

type uintFlag struct {
	cli.UintFlag
	names []string
}

func (f *uintFlag) Names() []string { return f.names }

func uFlag(f cli.UintFlag) *uintFlag { return &uintFlag{f, f.Names()} }

type durationFlag struct {
	cli.DurationFlag
	names []string
}

func (f *durationFlag) Names() []string { return f.names }

func durFlag(f cli.DurationFlag) *durationFlag { return &durationFlag{f, f.Names()} }
