package web

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parleyhq/parley/internal/store"
)

type serverMetrics struct {
	ingested         *prometheus.CounterVec
	ingestDuplicates *prometheus.CounterVec
	ingestRejected   *prometheus.CounterVec
	ingestLatency    *prometheus.HistogramVec
}

func newServerMetrics(reg prometheus.Registerer, db *store.DB) serverMetrics {
	m := serverMetrics{
		ingested: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "parley_ingest_messages_total",
			Help: "Inbound messages stored."}, []string{"channel"}),
		ingestDuplicates: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "parley_ingest_duplicates_total",
			Help: "Inbound messages already stored (platform retries)."}, []string{"channel"}),
		ingestRejected: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "parley_ingest_rejected_total",
			Help: "Inbound requests refused, by reason."}, []string{"channel", "reason"}),
		ingestLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "parley_ingest_ack_seconds",
			Help: "Time from request to acknowledgement of inbound traffic.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)}, []string{"channel"}),
	}
	if reg == nil {
		return m
	}
	reg.MustRegister(m.ingested, m.ingestDuplicates, m.ingestRejected, m.ingestLatency)
	gauge := func(name, help, query string) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			var n float64
			if err := db.QueryRowContext(ctx, query).Scan(&n); err != nil {
				return -1
			}
			return n
		})
	}
	reg.MustRegister(
		gauge("parley_outbound_queue_depth", "Outbound messages waiting to be delivered.", `SELECT COUNT(*) FROM deliveries WHERE state = 'pending'`),
		gauge("parley_cases_waiting", "Cases without an inbox assignee that are not resolved, closed or trashed.",
			`SELECT COUNT(*) FROM cases WHERE assignee_id IS NULL AND status IN ('new','open','escalated')`),
	)
	return m
}
