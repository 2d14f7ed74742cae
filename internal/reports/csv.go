package reports

import (
	"encoding/csv"
	"io"
	"strconv"
	"strings"
)

// CSVHeader names the columns WriteCSV writes after the group's label and
// key (the first column is named after the grouping).
var CSVHeader = []string{"key", "created", "answered", "avg_first_response_seconds", "median_first_response_seconds", "p90_first_response_seconds",
	"resolved", "handled", "avg_handle_seconds", "median_handle_seconds", "p90_handle_seconds", "closed", "messages_in", "messages_out",
	"sla_met", "sla_breached", "sla_running", "sla_attainment_percent"}

// WriteCSV writes a report as CSV: one line per group, then a line of
// totals (label "total", empty key). Durations are in seconds with one
// decimal; an undefined figure is an empty cell. Cells a spreadsheet would
// read as a formula are quoted with a leading apostrophe.
func WriteCSV(w io.Writer, r *Report) error {
	cw := csv.NewWriter(w)
	_ = cw.Write(append([]string{r.Group}, CSVHeader...))
	line := func(label string, row Row) {
		_ = cw.Write([]string{csvCell(label), csvCell(row.Key), strconv.Itoa(row.Created),
			strconv.Itoa(row.FirstResponse.Count), seconds(row.FirstResponse, row.FirstResponse.Mean),
			seconds(row.FirstResponse, row.FirstResponse.Median), seconds(row.FirstResponse, row.FirstResponse.P90),
			strconv.Itoa(row.Resolved), strconv.Itoa(row.HandleTime.Count), seconds(row.HandleTime, row.HandleTime.Mean),
			seconds(row.HandleTime, row.HandleTime.Median), seconds(row.HandleTime, row.HandleTime.P90),
			strconv.Itoa(row.Closed), strconv.Itoa(row.MessagesIn), strconv.Itoa(row.MessagesOut),
			strconv.Itoa(row.SLA.Met), strconv.Itoa(row.SLA.Breached), strconv.Itoa(row.SLA.Running), percent(row.SLA)})
	}
	for _, row := range r.Rows {
		line(row.Label, row)
	}
	line("total", r.Totals)
	cw.Flush()
	return cw.Error()
}

func seconds(d Durations, v float64) string {
	if d.Count == 0 {
		return ""
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

func percent(s SLA) string {
	p := s.Percent()
	if p < 0 {
		return ""
	}
	return strconv.FormatFloat(p, 'f', 1, 64)
}

// csvCell keeps a spreadsheet from reading a cell as a formula.
func csvCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
