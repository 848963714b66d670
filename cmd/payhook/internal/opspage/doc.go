// Package opspage is payhook serve's operator's page, served on the admin
// listener: the events of the inbox, latest first, filterable by provider,
// state and a search on key or merchant reference; the dead ones with
// Replay and Discard, and the overdue expected payments, at the top; the
// deliveries of the last hour by outcome, as a small chart; and one page
// per event with its attempts and the event as decoded.
//
// It is plain server-rendered HTML (html/template, an embedded stylesheet,
// no script), usable without JavaScript; it reloads itself while an event
// is pending. Its forms refuse a post from another site (403), as the
// sandbox's pages do.
//
// It reads the inbox through [Lister], which finds the newest entries
// first: [SQLite] and [River] read those backends' tables, [Asynq] asynq's
// queue through its Inspector, and [FromInbox] works on any backend
// through inbox.Inbox.List. The rates and the
// attempts' durations come from a [Recorder] fed by the same
// payhook.Observer calls as /metrics.
package opspage
