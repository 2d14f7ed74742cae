package app

import (
	"bytes"
	"encoding/json"

	"github.com/parleyhq/parley/internal/hours"
	"github.com/parleyhq/parley/internal/routing"
)

// parseSchedule reads a business-hours document strictly.
func parseSchedule(raw json.RawMessage) (hours.Schedule, error) {
	var s hours.Schedule
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return s, err
	}
	return s, s.Validate()
}

// validateHours checks a skill's business hours when it is saved.
func validateHours(raw json.RawMessage) error {
	_, err := parseSchedule(raw)
	return err
}

// businessClock gives the router a skill's calendar for SLA deadlines.
func businessClock(raw json.RawMessage) (routing.BusinessClock, error) {
	s, err := parseSchedule(raw)
	if err != nil {
		return nil, err
	}
	return s.Calendar(), nil
}
