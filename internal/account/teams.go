package account

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/audit"
	"github.com/parleyhq/parley/internal/store"
)

// Team groups users (e.g. "Billing desk") for supervision and routing.
type Team struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	MemberIDs []string  `json:"member_ids"`
	CreatedAt time.Time `json:"created_at"`
}

// ErrTeamNameTaken is a duplicate team name in a workspace.
var ErrTeamNameTaken = &ValidationError{"name", "a team with this name already exists"}

// CreateTeam adds a team.
func (s *Service) CreateTeam(ctx context.Context, actor *User, name string) (Team, error) {
	t := Team{ID: store.NewID(), Name: strings.TrimSpace(name), MemberIDs: []string{}, CreatedAt: s.now().UTC()}
	if t.Name == "" || len(t.Name) > 100 {
		return Team{}, &ValidationError{"name", "1 to 100 characters"}
	}
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO teams (id, workspace_id, name, created_at) VALUES (?, ?, ?, ?)`, t.ID, actor.WorkspaceID, t.Name, store.Micros(t.CreatedAt)); err != nil {
			if store.IsUniqueViolation(err) {
				return ErrTeamNameTaken
			}
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{WorkspaceID: actor.WorkspaceID, ActorType: "user", ActorID: actor.ID, Action: "team.created", EntityType: "team", EntityID: t.ID, At: t.CreatedAt})
	})
	return t, err
}

// ListTeams lists a workspace's teams with their members.
func (s *Service) ListTeams(ctx context.Context, workspaceID string) ([]Team, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT t.id, t.name, t.created_at, m.user_id FROM teams t LEFT JOIN team_members m ON m.team_id = t.id
		WHERE t.workspace_id = ? ORDER BY t.name, t.id, m.user_id`, workspaceID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Team{}
	for rows.Next() {
		var id, name string
		var at int64
		var member sql.NullString
		if err := rows.Scan(&id, &name, &at, &member); err != nil {
			return nil, err
		}
		if len(out) == 0 || out[len(out)-1].ID != id {
			out = append(out, Team{ID: id, Name: name, CreatedAt: store.Time(at), MemberIDs: []string{}})
		}
		if member.Valid {
			out[len(out)-1].MemberIDs = append(out[len(out)-1].MemberIDs, member.String)
		}
	}
	return out, rows.Err()
}

// GetTeam reads one team.
func (s *Service) GetTeam(ctx context.Context, workspaceID, id string) (Team, error) {
	teams, err := s.ListTeams(ctx, workspaceID)
	if err != nil {
		return Team{}, err
	}
	for _, t := range teams {
		if t.ID == id {
			return t, nil
		}
	}
	return Team{}, store.ErrNotFound
}

// SetTeamMember adds (member true) or removes a user.
func (s *Service) SetTeamMember(ctx context.Context, actor *User, teamID, userID string, member bool) (Team, error) {
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM teams WHERE workspace_id = ? AND id = ?`, actor.WorkspaceID, teamID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return store.ErrNotFound
		}
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE workspace_id = ? AND id = ?`, actor.WorkspaceID, userID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return store.ErrNotFound
		}
		q, action := `INSERT INTO team_members (workspace_id, team_id, user_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`, "team.member_added"
		if !member {
			q, action = `DELETE FROM team_members WHERE workspace_id = ? AND team_id = ? AND user_id = ?`, "team.member_removed"
		}
		if _, err := tx.ExecContext(ctx, q, actor.WorkspaceID, teamID, userID); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{WorkspaceID: actor.WorkspaceID, ActorType: "user", ActorID: actor.ID, Action: action, EntityType: "team", EntityID: teamID,
			Details: map[string]any{"user_id": userID}, At: s.now()})
	})
	if err != nil {
		return Team{}, err
	}
	return s.GetTeam(ctx, actor.WorkspaceID, teamID)
}

// DeleteTeam removes a team and its memberships.
func (s *Service) DeleteTeam(ctx context.Context, actor *User, id string) error {
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM team_members WHERE workspace_id = ? AND team_id = ?`, actor.WorkspaceID, id); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM teams WHERE workspace_id = ? AND id = ?`, actor.WorkspaceID, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.ErrNotFound
		}
		return audit.Record(ctx, tx, audit.Entry{WorkspaceID: actor.WorkspaceID, ActorType: "user", ActorID: actor.ID, Action: "team.deleted", EntityType: "team", EntityID: id, At: s.now()})
	})
}
