package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/ora2gcs/ora2gcs/config"
	"github.com/ora2gcs/ora2gcs/jobs"
)

// listFlag is a repeatable flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, " ") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// incrementalFlags are run's flags for incremental extraction.
type incrementalFlags struct {
	incremental, overlap, keys listFlag
	full                       bool
	fullCron, fullTimezone     string
}

func addIncrementalFlags(fs *flag.FlagSet) *incrementalFlags {
	f := &incrementalFlags{}
	fs.Var(&f.incremental, "incremental", "TABLE:COLUMN reads TABLE incrementally with watermark COLUMN (a date, timestamp or number that grows with every insert and update); repeat for more tables. "+
		"The modes are stored with the transport (the tables not named are read in full); without the flag the stored modes, else the config file's incremental section, apply")
	fs.Var(&f.overlap, "overlap", "[TABLE:]OVERLAP re-reads this much below the previous watermark: a duration for time watermarks (default 10m), a number for numeric ones (default 0); without TABLE: every incremental table; repeatable")
	fs.Var(&f.keys, "keys", "TABLE:COL1,COL2 the columns identifying a row of TABLE, for merging increments (default: its primary key); repeatable")
	fs.BoolVar(&f.full, "full", false, "read every incremental table in full in this run (catches deletes) and record its watermark")
	fs.StringVar(&f.fullCron, "full-cron", "", `when incremental tables are read in full again (which removes deleted rows): the first run after each time of this cron expression, e.g. "0 0 * * 0" (every Sunday); stored with the transport, with --full-timezone`)
	fs.StringVar(&f.fullTimezone, "full-timezone", "", "IANA time zone --full-cron is read in, e.g. Europe/Berlin or UTC (required with --full-cron)")
	return f
}

// fullSchedule is the full schedule the flags give (nil: none given).
func (f *incrementalFlags) fullSchedule() *jobs.ScheduleSpec {
	if f.fullCron == "" && f.fullTimezone == "" {
		return nil
	}
	return &jobs.ScheduleSpec{Cron: f.fullCron, Timezone: f.fullTimezone}
}

// cutLast splits s at its last ':'.
func cutLast(s string) (string, string, bool) {
	i := strings.LastIndex(s, ":")
	if i < 0 {
		return "", s, false
	}
	return strings.TrimSpace(s[:i]), strings.TrimSpace(s[i+1:]), true
}

// spec is the table modes to give transport tr: from the flags when
// --incremental is given, else from the config file's incremental section
// (its tables that tr has), else none (ok false: tr keeps its stored modes).
func (f *incrementalFlags) spec(cfg *config.IncrementalConfig, tr jobs.Transport) (jobs.IncrementalSpec, bool, error) {
	var spec jobs.IncrementalSpec
	if len(f.incremental) == 0 {
		if len(f.overlap) > 0 || len(f.keys) > 0 {
			return spec, false, errors.New("--overlap and --keys need --incremental")
		}
		if cfg == nil {
			if fs := f.fullSchedule(); fs != nil {
				// a full schedule for the modes already stored
				spec.Tables = tr.Incremental.TableModes()
				spec.FullSchedule = fs
				return spec, true, nil
			}
			return spec, false, nil
		}
		for _, t := range cfg.Tables {
			if !hasTable(tr, t.Table) {
				continue // the section may list tables of other runs
			}
			spec.Tables = append(spec.Tables, jobs.TableMode{Table: t.Table, Mode: jobs.ModeIncremental,
				WatermarkColumn: t.WatermarkColumn, KeyColumns: t.KeyColumns, Overlap: t.Overlap})
		}
		if fs := cfg.FullSchedule; fs != nil {
			spec.FullSchedule = &jobs.ScheduleSpec{Cron: fs.Cron, Timezone: fs.Timezone}
		}
		if fs := f.fullSchedule(); fs != nil {
			spec.FullSchedule = fs
		}
		return spec, true, nil
	}
	byTable := map[string]int{}
	for _, v := range f.incremental {
		table, col, ok := cutLast(v)
		if !ok || table == "" || col == "" {
			return spec, false, fmt.Errorf("--incremental %q: want TABLE:COLUMN", v)
		}
		byTable[table] = len(spec.Tables)
		spec.Tables = append(spec.Tables, jobs.TableMode{Table: table, Mode: jobs.ModeIncremental, WatermarkColumn: col})
	}
	for _, v := range f.overlap {
		table, ov, hasTable := cutLast(v)
		if !hasTable {
			for i := range spec.Tables {
				spec.Tables[i].Overlap = ov
			}
			continue
		}
		i, ok := byTable[table]
		if !ok {
			return spec, false, fmt.Errorf("--overlap %q: %s is not named by --incremental", v, table)
		}
		spec.Tables[i].Overlap = ov
	}
	for _, v := range f.keys {
		table, cols, ok := cutLast(v)
		i, named := byTable[table]
		if !ok || !named || cols == "" {
			return spec, false, fmt.Errorf("--keys %q: want TABLE:COL1,COL2 for a table named by --incremental", v)
		}
		for _, c := range strings.Split(cols, ",") {
			spec.Tables[i].KeyColumns = append(spec.Tables[i].KeyColumns, strings.TrimSpace(c))
		}
	}
	if cfg != nil && cfg.FullSchedule != nil {
		spec.FullSchedule = &jobs.ScheduleSpec{Cron: cfg.FullSchedule.Cron, Timezone: cfg.FullSchedule.Timezone}
	}
	if fs := f.fullSchedule(); fs != nil {
		spec.FullSchedule = fs
	}
	return spec, true, nil
}

// flagOfField names the run flag that sets a field of the API's
// incremental section ("" for none), for error messages.
func flagOfField(field string) string {
	switch {
	case field == "incremental.full_schedule.cron":
		return "--full-cron"
	case field == "incremental.full_schedule.timezone":
		return "--full-timezone"
	case strings.HasSuffix(field, ".watermark_column"), strings.HasSuffix(field, ".table"), strings.HasSuffix(field, ".mode"):
		return "--incremental"
	case strings.HasSuffix(field, ".overlap"):
		return "--overlap"
	case strings.Contains(field, ".key_columns"):
		return "--keys"
	}
	return ""
}

// withFlagName adds the flag that sets a refused field to its error.
func withFlagName(err error) error {
	var fe *jobs.FieldError
	if !errors.As(err, &fe) {
		return err
	}
	if f := flagOfField(fe.Field); f != "" {
		return fmt.Errorf("%s (%s): %s", fe.Field, f, fe.Message)
	}
	return err
}

// cmdWatermarks lists or rebuilds the watermarks of one transport or all.
func cmdWatermarks(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "list" && args[0] != "rebuild") {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			fs := flag.NewFlagSet("watermarks", flag.ContinueOnError)
			addFlags(fs, flagsSource|flagsTarget|flagsOutput)
			fs.String("transport", "", "")
			printUsage(fs, stdout)
			return errHelp
		}
		return usageError(stderr, "watermarks", "want list or rebuild")
	}
	action := args[0]
	fs := flag.NewFlagSet("watermarks", flag.ContinueOnError)
	o := addFlags(fs, flagsSource|flagsTarget|flagsOutput)
	transportName := fs.String("transport", "", "the transport's name (default: every transport)")
	transportID := fs.String("transport-id", "", "the transport's id (default: every transport)")
	if err := parseFlags(fs, args[1:], stdout, stderr); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError(stderr, "watermarks", "unexpected argument %q", fs.Arg(0))
	}
	log, err := o.logger(stderr)
	if err != nil {
		return usageError(stderr, "watermarks", "%v", err)
	}
	e, err := o.open(ctx)
	if err != nil {
		return err
	}
	defer e.Close()
	m, err := e.manager(ctx, log)
	if err != nil {
		return err
	}
	defer m.Close()
	var ids []string
	switch {
	case *transportName != "":
		tr, err := m.FindTransportByName(ctx, *transportName)
		if err != nil {
			return err
		}
		ids = []string{tr.ID}
	case *transportID != "":
		ids = []string{*transportID}
	default:
		for page := 1; ; page++ {
			p, err := m.ListTransports(ctx, page, 200)
			if err != nil {
				return err
			}
			for _, t := range p.Items {
				ids = append(ids, t.ID)
			}
			if page*200 >= p.Total {
				break
			}
		}
	}
	out := map[string][]jobs.WatermarkState{}
	for _, id := range ids {
		var ws []jobs.WatermarkState
		if action == "rebuild" {
			ws, err = m.RebuildWatermarks(ctx, id)
		} else {
			ws, err = m.Watermarks(ctx, id)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", id, err)
		}
		out[id] = ws
	}
	if o.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	for _, id := range ids {
		for _, w := range out[id] {
			fmt.Fprintf(stdout, "%s\t%s\t%s\t%s\t%s\t%s\tfull %s\n", id, w.Table, w.Column, w.High, w.JobVersion, w.JobID, w.FullJobID)
		}
	}
	return nil
}

// hasTable: tr lists name (as shown, or by its catalog name), ignoring case.
func hasTable(tr jobs.Transport, name string) bool {
	name = strings.TrimSpace(name)
	for i, t := range tr.Tables {
		if strings.EqualFold(t, name) {
			return true
		}
		if i < len(tr.TableRefs) {
			r := tr.TableRefs[i]
			if strings.EqualFold(r.Name, name) || strings.EqualFold(r.Schema+"."+r.Name, name) {
				return true
			}
		}
	}
	return false
}
