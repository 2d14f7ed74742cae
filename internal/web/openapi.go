package web

import (
	_ "embed"
	"encoding/json"
	"net/http"
	"regexp"
	"sort"
	"strings"
)

//go:embed openapi_components.json
var openAPIComponents []byte

// operation documents one route; every registered route must have one
// (TestOpenAPICoversEveryRoute).
type operation struct {
	Summary  string
	Tag      string
	Auth     string // "token" (user API token), "byoc" (point-of-contact token), "" (none or platform-specific)
	Request  string // component schema name of the JSON body
	Response string // component schema name of the success body
	Status   string // success status code; default 200
	Query    []string
}

var operations = map[string]operation{
	"GET /healthz":                                           {Summary: "Liveness: the process answers", Tag: "ops"},
	"GET /readyz":                                            {Summary: "Readiness: the database answers", Tag: "ops"},
	"GET /metrics":                                           {Summary: "Prometheus metrics", Tag: "ops"},
	"GET /api/v1/openapi.json":                               {Summary: "This document", Tag: "ops"},
	"POST /api/v1/auth/token":                                {Summary: "Exchange email and password for an API token", Tag: "auth", Request: "LoginRequest", Response: "TokenCreated", Status: "201"},
	"POST /api/v1/auth/login":                                {Summary: "Browser sign-in: sets an HttpOnly, Secure, SameSite session cookie", Tag: "auth", Request: "LoginRequest", Response: "SessionCreated"},
	"POST /api/v1/auth/logout":                               {Summary: "End the browser session", Tag: "auth", Status: "204"},
	"GET /api/v1/teams":                                      {Summary: "List teams with their members", Tag: "users", Auth: "token", Response: "TeamList"},
	"POST /api/v1/teams":                                     {Summary: "Create a team (admin)", Tag: "users", Auth: "token", Request: "TeamRequest", Response: "Team", Status: "201"},
	"GET /api/v1/teams/{id}":                                 {Summary: "Get a team", Tag: "users", Auth: "token", Response: "Team"},
	"DELETE /api/v1/teams/{id}":                              {Summary: "Delete a team (admin)", Tag: "users", Auth: "token", Status: "204"},
	"PUT /api/v1/teams/{id}/members/{userID}":                {Summary: "Add a member (admin)", Tag: "users", Auth: "token", Response: "Team"},
	"DELETE /api/v1/teams/{id}/members/{userID}":             {Summary: "Remove a member (admin)", Tag: "users", Auth: "token", Response: "Team"},
	"GET /api/v1/me":                                         {Summary: "The authenticated user", Tag: "auth", Auth: "token", Response: "User"},
	"GET /api/v1/tokens":                                     {Summary: "Your API tokens", Tag: "auth", Auth: "token", Response: "TokenList"},
	"POST /api/v1/tokens":                                    {Summary: "Create an API token (value shown once)", Tag: "auth", Auth: "token", Request: "TokenRequest", Response: "TokenCreated", Status: "201"},
	"DELETE /api/v1/tokens/{id}":                             {Summary: "Revoke a token", Tag: "auth", Auth: "token", Status: "204"},
	"GET /api/v1/users":                                      {Summary: "List users", Tag: "users", Auth: "token", Response: "UserList"},
	"POST /api/v1/users":                                     {Summary: "Create a user (admin)", Tag: "users", Auth: "token", Request: "NewUser", Response: "User", Status: "201"},
	"GET /api/v1/users/{id}":                                 {Summary: "Get a user", Tag: "users", Auth: "token", Response: "User"},
	"PATCH /api/v1/users/{id}":                               {Summary: "Change a user (admins: anything; users: own name and password)", Tag: "users", Auth: "token", Request: "UserPatch", Response: "User"},
	"GET /api/v1/skills":                                     {Summary: "List skills", Tag: "skills", Auth: "token", Response: "SkillList"},
	"POST /api/v1/skills":                                    {Summary: "Create a skill (admin)", Tag: "skills", Auth: "token", Request: "SkillRequest", Response: "Skill", Status: "201"},
	"GET /api/v1/skills/{id}":                                {Summary: "Get a skill", Tag: "skills", Auth: "token", Response: "Skill"},
	"PATCH /api/v1/skills/{id}":                              {Summary: "Change a skill (admin)", Tag: "skills", Auth: "token", Request: "SkillRequest", Response: "Skill"},
	"DELETE /api/v1/skills/{id}":                             {Summary: "Delete an unused skill (admin)", Tag: "skills", Auth: "token", Status: "204"},
	"GET /api/v1/agents":                                     {Summary: "Agents with presence, capacity, load and skills (supervisor)", Tag: "routing", Auth: "token", Response: "AgentList"},
	"GET /api/v1/agents/{id}":                                {Summary: "One agent's routing view (`me` for yourself)", Tag: "routing", Auth: "token", Response: "Agent"},
	"PUT /api/v1/agents/{id}/state":                          {Summary: "Set presence: available, away (with a reason) or offline; offline returns the agent's active cases to their queues", Tag: "routing", Auth: "token", Request: "AgentStateRequest", Response: "Agent"},
	"PUT /api/v1/agents/{id}/capacity":                       {Summary: "Set an agent's capacity per channel class and in total (admin)", Tag: "routing", Auth: "token", Request: "Capacity", Response: "Agent"},
	"PUT /api/v1/agents/{id}/skills":                         {Summary: "Set an agent's skills and proficiencies 1–10 (admin)", Tag: "routing", Auth: "token", Request: "AgentSkillsRequest", Response: "Agent"},
	"GET /api/v1/offers":                                     {Summary: "Your open offers (accept or reject before expires_at)", Tag: "routing", Auth: "token", Response: "OfferList"},
	"POST /api/v1/offers/{id}/accept":                        {Summary: "Accept an offer: you become the case's assignee and owner; 409 when it lapsed", Tag: "routing", Auth: "token", Response: "Offer"},
	"POST /api/v1/offers/{id}/reject":                        {Summary: "Reject an offer: the case goes to the next agent", Tag: "routing", Auth: "token", Status: "204"},
	"POST /api/v1/routing/next":                              {Summary: "Pull mode: take the best waiting case of your skills that fits your capacity; 404 when none", Tag: "routing", Auth: "token", Response: "Case"},
	"POST /api/v1/cases/{id}/transfer":                       {Summary: "Transfer a case to another skill's queue or to an agent with room", Tag: "routing", Auth: "token", Request: "TransferRequest", Response: "Case"},
	"GET /api/v1/queues":                                     {Summary: "Per-skill queues: waiting, offered, oldest, agents available, SLA at risk and breached (supervisor)", Tag: "routing", Auth: "token", Response: "QueueList"},
	"GET /api/v1/reports":                                    {Summary: "Report per channel, skill, agent (case owner) or point of contact over days (from/to: YYYY-MM-DD, both included, in the workspace's time zone; default the last 30 days; at most 366): cases created, resolved, closed; messages in/out; first-response and handle times (wall clock: count, mean, median, p90); SLA met/breached/running; per-day volumes (supervisor)", Tag: "reports", Auth: "token", Response: "Report", Query: []string{"from", "to", "group"}},
	"GET /api/v1/reports.csv":                                {Summary: "The same report as CSV (text/csv): one line per group, then the totals (supervisor)", Tag: "reports", Auth: "token", Query: []string{"from", "to", "group"}},
	"GET /api/v1/automation/rules":                           {Summary: "Workflow rules (supervisor)", Tag: "automation", Auth: "token", Response: "RuleList"},
	"POST /api/v1/automation/rules":                          {Summary: "Create a rule: trigger, condition sets (AND inside, OR between), delay, actions (admin)", Tag: "automation", Auth: "token", Request: "RuleInput", Response: "Rule", Status: "201"},
	"GET /api/v1/automation/rules/{id}":                      {Summary: "One rule", Tag: "automation", Auth: "token", Response: "Rule"},
	"PUT /api/v1/automation/rules/{id}":                      {Summary: "Replace a rule (admin)", Tag: "automation", Auth: "token", Request: "RuleInput", Response: "Rule"},
	"DELETE /api/v1/automation/rules/{id}":                   {Summary: "Delete a rule; its pending jobs are skipped (admin)", Tag: "automation", Auth: "token", Status: "204"},
	"GET /api/v1/cases/{id}/automation":                      {Summary: "The automation jobs of a case: scheduled, done, skipped, failed, with each action's outcome", Tag: "automation", Auth: "token", Response: "JobList"},
	"GET /api/v1/scripts":                                    {Summary: "Default scripts (Starlark; see docs/scripts.md)", Tag: "scripts", Auth: "token", Response: "ScriptList"},
	"POST /api/v1/scripts":                                   {Summary: "Create a script (admin); 400 with line:column when it does not compile", Tag: "scripts", Auth: "token", Request: "ScriptRequest", Response: "Script", Status: "201"},
	"GET /api/v1/scripts/{id}":                               {Summary: "A script with its current version", Tag: "scripts", Auth: "token", Response: "Script"},
	"PUT /api/v1/scripts/{id}":                               {Summary: "Save a new version of a script (admin)", Tag: "scripts", Auth: "token", Request: "ScriptRequest", Response: "Script"},
	"DELETE /api/v1/scripts/{id}":                            {Summary: "Delete a script no point of contact uses (admin)", Tag: "scripts", Auth: "token", Status: "204"},
	"GET /api/v1/scripts/{id}/versions":                      {Summary: "A script's versions, newest first", Tag: "scripts", Auth: "token", Response: "ScriptVersionList"},
	"GET /api/v1/scripts/{id}/versions/{n}":                  {Summary: "One version of a script", Tag: "scripts", Auth: "token", Response: "ScriptVersion"},
	"POST /api/v1/scripts/{id}/test":                         {Summary: "Dry run: the actions the script (or a draft source) would take on a sample input; nothing is applied", Tag: "scripts", Auth: "token", Request: "ScriptTestRequest", Response: "ScriptTestResult"},
	"GET /api/v1/points-of-contact":                          {Summary: "List points of contact", Tag: "points of contact", Auth: "token", Response: "PointOfContactList"},
	"POST /api/v1/points-of-contact":                         {Summary: "Create a point of contact (admin); generated secrets are returned once", Tag: "points of contact", Auth: "token", Request: "NewPointOfContact", Response: "PointOfContactCreated", Status: "201"},
	"GET /api/v1/points-of-contact/{id}":                     {Summary: "Get a point of contact (credentials never returned)", Tag: "points of contact", Auth: "token", Response: "PointOfContact"},
	"PATCH /api/v1/points-of-contact/{id}":                   {Summary: "Change a point of contact (admin); credentials are write-only", Tag: "points of contact", Auth: "token", Request: "PointOfContactPatch", Response: "PointOfContact"},
	"DELETE /api/v1/points-of-contact/{id}":                  {Summary: "Retire a point of contact (admin); its cases stay", Tag: "points of contact", Auth: "token", Status: "204"},
	"POST /api/v1/points-of-contact/{id}/register-webhook":   {Summary: "Tell the platform the webhook URL again (Telegram setWebhook, Viber set_webhook); 502 with the platform's reason when it fails", Tag: "points of contact", Auth: "token", Response: "WebhookRegistration"},
	"POST /api/v1/points-of-contact/{id}/rotate-credentials": {Summary: "Generate new BYOC token and secret (admin); the old ones stop working", Tag: "points of contact", Auth: "token", Response: "PointOfContactCreated"},
	"GET /api/v1/points-of-contact/{id}/templates":           {Summary: "The point of contact's message templates (WhatsApp), as last synchronised", Tag: "points of contact", Auth: "token", Response: "TemplateList"},
	"POST /api/v1/points-of-contact/{id}/templates/sync":     {Summary: "Synchronise message templates from the platform (supervisor)", Tag: "points of contact", Auth: "token", Response: "TemplateList"},
	"POST /api/v1/points-of-contact/{id}/conversations":      {Summary: "Start a conversation with a contact who has not written (as the channel allows: WhatsApp templates only; never on Messenger/Instagram)", Tag: "cases", Auth: "token", Request: "StartConversation", Response: "ConversationStarted", Status: "202"},
	"POST /api/v1/cases/{id}/preview":                        {Summary: "What a text will cost on the case's channel before sending (SMS segments and encoding) and the reply window", Tag: "cases", Auth: "token", Request: "PreviewRequest", Response: "TextPreview"},
	"GET /api/v1/messages/{id}":                              {Summary: "Get one message (its case must be visible to you)", Tag: "cases", Auth: "token", Response: "Message"},
	"POST /api/v1/messages/{id}/hide":                        {Summary: "Hide a customer's public message on its platform (channel permission hide); 409 when private or the channel cannot, 502 with the platform's reason when it refuses", Tag: "moderation", Auth: "token", Response: "Message"},
	"POST /api/v1/messages/{id}/unhide":                      {Summary: "Show a hidden public message again (channel permission hide)", Tag: "moderation", Auth: "token", Response: "Message"},
	"POST /api/v1/messages/{id}/delete":                      {Summary: "Delete a customer's public message on its platform (channel permission delete); the message stays in Parley, marked deleted", Tag: "moderation", Auth: "token", Response: "Message"},
	"POST /api/v1/messages/{id}/like":                        {Summary: "Like a customer's public message (channel permission like)", Tag: "moderation", Auth: "token", Response: "Message"},
	"POST /api/v1/messages/{id}/unlike":                      {Summary: "Take back a like (channel permission like)", Tag: "moderation", Auth: "token", Response: "Message"},
	"POST /api/v1/cases/{id}/typing":                         {Summary: "Show or hide the typing indicator to the customer (and mark their last message read)", Tag: "cases", Auth: "token", Request: "TypingRequest", Status: "204"},
	"GET /api/v1/cases": {Summary: "List cases in the digital inbox", Tag: "cases", Auth: "token", Response: "CasePage",
		Query: []string{"status", "point_of_contact_id", "channel_type", "skill_id", "assignee_id", "owner_id", "tag", "q", "contact_id", "created_after", "created_before", "sort", "limit", "cursor"}},
	"GET /api/v1/cases/{id}":                        {Summary: "Get a case", Tag: "cases", Auth: "token", Response: "Case"},
	"PATCH /api/v1/cases/{id}":                      {Summary: "Change status, priority, skill, assignee, subject or custom fields; illegal transitions → 409", Tag: "cases", Auth: "token", Request: "CasePatch", Response: "Case"},
	"GET /api/v1/cases/{id}/messages":               {Summary: "The case's messages, oldest first", Tag: "cases", Auth: "token", Response: "MessagePage", Query: []string{"limit", "cursor"}},
	"POST /api/v1/cases/{id}/messages":              {Summary: "Send a message on the case (stored pending, delivered by the outbox)", Tag: "cases", Auth: "token", Request: "Reply", Response: "Message", Status: "202"},
	"GET /api/v1/cases/{id}/notes":                  {Summary: "Internal notes", Tag: "cases", Auth: "token", Response: "NoteList"},
	"POST /api/v1/cases/{id}/notes":                 {Summary: "Add an internal note", Tag: "cases", Auth: "token", Request: "NoteRequest", Response: "Note", Status: "201"},
	"POST /api/v1/cases/{id}/tags":                  {Summary: "Add and remove tags", Tag: "cases", Auth: "token", Request: "TagsRequest", Response: "Case"},
	"GET /api/v1/cases/{id}/history":                {Summary: "Audit trail of the case", Tag: "cases", Auth: "token", Response: "AuditList"},
	"GET /api/v1/saved-views":                       {Summary: "Your saved inbox views and those shared with the workspace", Tag: "saved views", Auth: "token", Response: "SavedViewList"},
	"POST /api/v1/saved-views":                      {Summary: "Save inbox filters under a name; shared with the workspace only by supervisors and administrators (403 otherwise)", Tag: "saved views", Auth: "token", Request: "NewSavedView", Response: "SavedView", Status: "201"},
	"GET /api/v1/saved-views/{id}":                  {Summary: "One saved view (yours, or a shared one)", Tag: "saved views", Auth: "token", Response: "SavedView"},
	"DELETE /api/v1/saved-views/{id}":               {Summary: "Delete a saved view (its owner; administrators: any)", Tag: "saved views", Auth: "token", Status: "204"},
	"GET /api/v1/contacts":                          {Summary: "Search contacts", Tag: "contacts", Auth: "token", Response: "ContactPage", Query: []string{"q", "limit", "cursor"}},
	"GET /api/v1/contacts/{id}":                     {Summary: "Get a contact with its identities", Tag: "contacts", Auth: "token", Response: "Contact"},
	"PATCH /api/v1/contacts/{id}":                   {Summary: "Change a contact", Tag: "contacts", Auth: "token", Request: "ContactPatch", Response: "Contact"},
	"POST /api/v1/contacts/{id}/merge":              {Summary: "Merge another contact into this one (supervisor)", Tag: "contacts", Auth: "token", Request: "MergeRequest", Response: "Contact"},
	"GET /api/v1/attachments/{id}":                  {Summary: "Download an attachment", Tag: "cases", Auth: "token"},
	"GET /files/{id}":                               {Summary: "Download an attachment with a signed, expiring link (for platforms)", Tag: "channels", Query: []string{"exp", "sig"}},
	"GET /api/v1/events":                            {Summary: "Live inbox events (text/event-stream)", Tag: "events", Auth: "token"},
	"POST /api/v1/byoc/{pointOfContactID}/messages": {Summary: "BYOC inbound message (idempotent on id)", Tag: "byoc", Auth: "byoc", Request: "ByocInbound", Response: "ByocInboundResult"},
	"POST /api/v1/byoc/{pointOfContactID}/statuses": {Summary: "BYOC delivery receipt", Tag: "byoc", Auth: "byoc", Request: "ByocStatus", Response: "ByocStatusResult"},
	"GET /webhooks/{pointOfContactID}":              {Summary: "Platform verification handshake", Tag: "channels"},
	"POST /webhooks/{pointOfContactID}":             {Summary: "Platform webhook (signature checked per platform)", Tag: "channels"},
	"GET /api/v1/channel-types/{type}/capabilities": {Summary: "What the channel can send, and what agents may send on it", Tag: "rich content", Auth: "token", Response: "Capabilities"},
	"POST /api/v1/link-preview":                     {Summary: "Fetch a page's title and image for a rich link (private addresses refused)", Tag: "rich content", Auth: "token", Request: "LinkPreviewRequest", Response: "LinkPreview"},
	"POST /api/v1/channel-types/{type}/render":      {Summary: "Preview the native payload and text fallback of canonical content", Tag: "rich content", Auth: "token", Request: "Content", Response: "RenderPreview"},
}

var pathParam = regexp.MustCompile(`\{([A-Za-z]+)\}`)

func (s *Server) buildOpenAPI() ([]byte, error) {
	var components map[string]any
	if err := json.Unmarshal(openAPIComponents, &components); err != nil {
		return nil, err
	}
	paths := map[string]map[string]any{}
	for _, rt := range s.routes {
		op, ok := operations[rt.Method+" "+rt.Pattern]
		if !ok {
			continue // TestOpenAPICoversEveryRoute fails on this
		}
		o := map[string]any{"summary": op.Summary, "tags": []string{op.Tag},
			"operationId": strings.ToLower(rt.Method) + strings.NewReplacer("/api/v1", "", "/", "_", "{", "", "}", "", "-", "_", ".", "_").Replace(rt.Pattern)}
		var params []any
		for _, m := range pathParam.FindAllStringSubmatch(rt.Pattern, -1) {
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]string{"type": "string"}})
		}
		for _, q := range op.Query {
			params = append(params, map[string]any{"name": q, "in": "query", "required": false, "schema": map[string]string{"type": "string"}})
		}
		if params != nil {
			o["parameters"] = params
		}
		switch op.Auth {
		case "token":
			o["security"] = []any{map[string]any{"apiToken": []string{}}}
		case "byoc":
			o["security"] = []any{map[string]any{"byocToken": []string{}}}
		}
		if op.Request != "" {
			o["requestBody"] = map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": ref(op.Request)}}}
		}
		status := op.Status
		if status == "" {
			status = "200"
		}
		ok200 := map[string]any{"description": "Success"}
		if op.Response != "" {
			ok200["content"] = map[string]any{"application/json": map[string]any{"schema": ref(op.Response)}}
		}
		problemResp := map[string]any{"description": "Error (RFC 9457)", "content": map[string]any{"application/problem+json": map[string]any{"schema": ref("Problem")}}}
		o["responses"] = map[string]any{status: ok200, "default": problemResp}
		if paths[rt.Pattern] == nil {
			paths[rt.Pattern] = map[string]any{}
		}
		paths[rt.Pattern][strings.ToLower(rt.Method)] = o
	}
	doc := map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{"title": "Parley API", "version": "1",
			"description": "The digital inbox: cases from every channel, routed to agents. Errors are application/problem+json; lists use cursor pagination (next_cursor)."},
		"servers":    []any{map[string]string{"url": strings.TrimRight(s.opts.PublicURL, "/")}},
		"paths":      paths,
		"components": components,
	}
	return json.MarshalIndent(doc, "", "  ")
}

func ref(name string) map[string]string {
	return map[string]string{"$ref": "#/components/schemas/" + name}
}

func (s *Server) openAPI(w http.ResponseWriter, r *http.Request) {
	doc, err := s.buildOpenAPI()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(doc)
}

// documentedOperations lists the documented "METHOD /path" keys (tests).
func documentedOperations() []string {
	out := make([]string, 0, len(operations))
	for k := range operations {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
