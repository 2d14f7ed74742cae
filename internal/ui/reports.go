package ui

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// reportQuery is a report's date range (days, inclusive, UTC) and grouping.
type reportQuery struct {
	From, To string // 2006-01-02
	By       string // channel, skill, agent
	from, to time.Time
}

func (h *Handler) parseReportQuery(q url.Values) reportQuery {
	now := h.d.Now().UTC()
	rq := reportQuery{From: q.Get("from"), To: q.Get("to"), By: q.Get("by")}
	switch rq.By {
	case "skill", "agent":
	default:
		rq.By = "channel"
	}
	to, err := time.Parse("2006-01-02", rq.To)
	if err != nil {
		to = time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	}
	from, err := time.Parse("2006-01-02", rq.From)
	if err != nil || from.After(to) {
		from = to.AddDate(0, 0, -29)
	}
	rq.From, rq.To = from.Format("2006-01-02"), to.Format("2006-01-02")
	rq.from, rq.to = from, to.AddDate(0, 0, 1)
	return rq
}

func (q reportQuery) Encode() string {
	return url.Values{"from": {q.From}, "to": {q.To}, "by": {q.By}}.Encode()
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

func (h *Handler) reportData(ctx context.Context, e *env, q reportQuery) (*reportData, error) {
	rows, err := h.report(ctx, e.u.WorkspaceID, q.By, q.from, q.to)
	if err != nil {
		return nil, err
	}
	for i := range rows {
		rows[i].Label = h.groupLabel(e, q.By, rows[i])
	}
	d := &reportData{Query: q, Rows: rows, Bys: []string{"channel", "skill", "agent"}, CSV: h.p("reports.csv") + "?" + q.Encode()}
	var frtSum float64
	for _, r := range rows {
		d.Totals.Volume += r.Volume
		d.Totals.Answered += r.Answered
		d.Totals.SLAMet += r.SLAMet
		d.Totals.SLABreached += r.SLABreached
		frtSum += r.AvgFirstResponse * float64(r.Answered)
	}
	if d.Totals.Answered > 0 {
		d.Totals.AvgFirstResponse = frtSum / float64(d.Totals.Answered)
	}
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
	return d, nil
}

// groupLabel names a group in the reader's language.
func (h *Handler) groupLabel(e *env, by string, r reportRow) string {
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
	q := h.parseReportQuery(r.URL.Query())
	d, err := h.reportData(r.Context(), e, q)
	if err != nil {
		h.fail(w, r, e, err)
		return
	}
	h.render(w, r, e, http.StatusOK, "reports", h.newView(r, e, "reports.title", "reports", d))
}

// csvCell keeps a spreadsheet from reading a cell as a formula.
func csvCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func (h *Handler) reportsCSV(w http.ResponseWriter, r *http.Request, e *env) {
	q := h.parseReportQuery(r.URL.Query())
	d, err := h.reportData(r.Context(), e, q)
	if err != nil {
		h.fail(w, r, e, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="parley-report-%s-%s-%s.csv"`, q.By, q.From, q.To))
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{q.By, "key", "volume", "answered", "avg_first_response_seconds", "sla_met", "sla_breached", "sla_attainment_percent"})
	for _, row := range d.Rows {
		sla := ""
		if p := row.SLAPercent(); p >= 0 {
			sla = strconv.FormatFloat(p, 'f', 1, 64)
		}
		_ = cw.Write([]string{csvCell(row.Label), csvCell(row.Key), strconv.Itoa(row.Volume), strconv.Itoa(row.Answered),
			strconv.FormatFloat(row.AvgFirstResponse, 'f', 1, 64), strconv.Itoa(row.SLAMet), strconv.Itoa(row.SLABreached), sla})
	}
	cw.Flush()
}
