package reconcile

import (
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"
)

// minuteLayout formats the minute column.
const minuteLayout = "2006-01-02 15:04"

// WriteTable writes the report as an aligned text table: a header line with
// the range, one line per row (only the rows with a gap when gapsOnly is
// set), a total line and a verdict line.
func (r *Report) WriteTable(w io.Writer, gapsOnly bool) error {
	fmt.Fprintf(w, "Hits of topic %s from %s to %s (UTC), %d records read\n\n",
		r.Topic, r.From.UTC().Format(time.RFC3339), r.To.UTC().Format(time.RFC3339), r.Records)

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "MINUTE (UTC)\tPROJECT\tPRODUCED\tREPEATS\tSTORED\tDEAD\tGAP\t")
	for _, row := range r.Rows {
		if gapsOnly && row.Gap() == 0 {
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", row.Minute.UTC().Format(minuteLayout), row.Project, countCells(row.Counts))
	}
	fmt.Fprintf(tw, "TOTAL\t\t%s\n", countCells(r.Total))
	if err := tw.Flush(); err != nil {
		return err
	}

	gaps := len(r.Gaps())
	if gaps == 0 {
		_, err := fmt.Fprintln(w, "\nNo gaps: every produced hit is stored or dead-lettered.")
		return err
	}
	_, err := fmt.Fprintf(w, "\n%d of %d rows have a gap: produced != stored + dead.\n", gaps, len(r.Rows))
	return err
}

// countCells returns the tab-separated number columns of c. A gap is
// printed with its sign and an arrow, so it is easy to find in a long table.
func countCells(c Counts) string {
	gap := "0"
	if g := c.Gap(); g != 0 {
		gap = fmt.Sprintf("%+d <-", g)
	}
	return strconv.FormatUint(c.Produced, 10) + "\t" + strconv.FormatUint(c.Repeats, 10) + "\t" +
		strconv.FormatUint(c.Stored, 10) + "\t" + strconv.FormatUint(c.Dead, 10) + "\t" + gap + "\t"
}
