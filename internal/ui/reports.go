package ui

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/parleyhq/parley/internal/reports"
)

// reportQuery is a report's date range (days, inclusive, in the
// workspace's time zone) and grouping, as the form sends them.
type reportQuery struct {
	From, To string // 2006-01-02
	By       string // channel, skill, agent
}

// parseReportQuery reads the form leniently: an unknown grouping is by
// channel; a date that does not parse, or a start after the end, is left
// to the report's default (the 30 days up to today).
func parseReportQuery(q url.Values) reportQuery {
	rq := reportQuery{From: q.Get("from"), To: q.Get("to"), By: q.Get("by")}
	switch rq.By {
	case reports.BySkill, reports.ByAgent:
	default:
		rq.By = reports.ByChannel
	}
	valid := func(d string) bool {
		_, err := time.Parse("2006-01-02", d)
		return err == nil
	}
	if !valid(rq.To) {
		rq.To = ""
	}
	if !valid(rq.From) || (rq.To != "" && rq.From > rq.To) {
		rq.From = ""
	}
	return rq
}

func (q reportQuery) Encode() string {
	return url.Values{"from": {q.From}, "to": {q.To}, "by": {q.By}}.Encode()
}

// reportRow is one group of the page's table and charts.
type reportRow struct {
	Key, Label       string
	Volume           int     // cases created
	Answered         int     // of which answered (first-response time measured)
	AvgFirstResponse float64 // seconds, over answered cases
	SLAMet           int
	SLABreached      int
}

// SLAPercent is the share of cases with an SLA target that met it, or -1.
func (r reportRow) SLAPercent() float64 {
	return reports.SLA{Met: r.SLAMet, Breached: r.SLABreached}.Percent()
}

func newReportRow(r reports.Row) reportRow {
	return reportRow{Key: r.Key, Label: r.Label, Volume: r.Created, Answered: r.FirstResponse.Count, AvgFirstResponse: r.FirstResponse.Mean,
		SLAMet: r.SLA.Met, SLABreached: r.SLA.Breached}
}

// bar is one bar of a chart, laid out on the server (SVG geometry only:
// numbers, never markup).
type bar struct {
	Label string
	Value string
	Y     int
	W     float64
}

type chart struct {
	Title  string // catalog key
	Bars   []bar
	Height int
}

type reportData struct {
	Query  reportQuery
	Bys    []string
	CSV    string
	Rows   []reportRow
	Charts []chart
	Totals reportRow
}

const (
	barHeight = 22
	barGap    = 8
	barMax    = 360.0 // px of the longest bar
)

func newChart(title string, rows []reportRow, label func(reportRow) string, value func(reportRow) (float64, string)) chart {
	c := chart{Title: title}
	max := 0.0
	for _, r := range rows {
		if v, _ := value(r); v > max {
			max = v
		}
	}
	for i, r := range rows {
		v, text := value(r)
		w := 0.0
		if max > 0 && v > 0 {
			w = barMax * v / max
		}
		c.Bars = append(c.Bars, bar{Label: label(r), Value: text, Y: i * (barHeight + barGap), W: w})
	}
	c.Height = len(rows)*(barHeight+barGap) + barGap
	return c
}

// reportData runs the report and lays it out; the report itself is
// returned too, with its labels in the reader's language (for the CSV).
func (h *Handler) reportData(ctx context.Context, e *env, q reportQuery) (*reportData, *reports.Report, error) {
	rep, err := h.reports().Run(ctx, e.u.WorkspaceID, reports.Query{From: q.From, To: q.To, Group: q.By})
	if err != nil {
		return nil, nil, err
	}
	q.From, q.To = rep.From, rep.To // the defaults, shown in the form
	d := &reportData{Query: q, Bys: []string{reports.ByChannel, reports.BySkill, reports.ByAgent}, CSV: h.p("reports.csv") + "?" + q.Encode(),
		Totals: newReportRow(rep.Totals)}
	for i := range rep.Rows {
		rep.Rows[i].Label = h.groupLabel(e, q.By, rep.Rows[i])
		d.Rows = append(d.Rows, newReportRow(rep.Rows[i]))
	}
	rows := d.Rows
	label := func(r reportRow) string { return r.Label }
	d.Charts = []chart{
		newChart("reports.volume", rows, label, func(r reportRow) (float64, string) { return float64(r.Volume), strconv.Itoa(r.Volume) }),
		newChart("reports.first_response", rows, label, func(r reportRow) (float64, string) {
			if r.Answered == 0 {
				return 0, "–"
			}
			return r.AvgFirstResponse, humanDuration(e.cat, r.AvgFirstResponse)
		}),
		newChart("reports.sla", rows, label, func(r reportRow) (float64, string) {
			p := r.SLAPercent()
			if p < 0 {
				return 0, "–"
			}
			return p, fmt.Sprintf("%.0f %%", p)
		}),
	}
	return d, rep, nil
}

// groupLabel names a group in the reader's language.
func (h *Handler) groupLabel(e *env, by string, r reports.Row) string {
	switch {
	case by == "channel":
		if e.cat.has("channel." + r.Key) {
			return e.t("channel." + r.Key)
		}
		return r.Key
	case r.Key == "" && by == "skill":
		return e.t("reports.no_skill")
	case r.Key == "":
		return e.t("reports.no_agent")
	case r.Label == "":
		return r.Key
	}
	return r.Label
}

func (h *Handler) reportsPage(w http.ResponseWriter, r *http.Request, e *env) {
	d, _, err := h.reportData(r.Context(), e, parseReportQuery(r.URL.Query()))
	if err != nil {
		h.fail(w, r, e, err)
		return
	}
	h.render(w, r, e, http.StatusOK, "reports", h.newView(r, e, "reports.title", "reports", d))
}

// reportsCSV is the report as CSV (reports.WriteCSV, the API's format),
// with groups named in the reader's language.
func (h *Handler) reportsCSV(w http.ResponseWriter, r *http.Request, e *env) {
	d, rep, err := h.reportData(r.Context(), e, parseReportQuery(r.URL.Query()))
	if err != nil {
		h.fail(w, r, e, err)
		return
	}
	q := d.Query
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="parley-report-%s-%s-%s.csv"`, q.By, q.From, q.To))
	if err := reports.WriteCSV(w, rep); err != nil {
		h.log.Debug("reports: write CSV", "err", err)
	}
}
