package main

import (
	"log/slog"

	"github.com/payhook/payhook/cmd/payhook/internal/opspage"
	"github.com/payhook/payhook/inbox"
	"github.com/payhook/payhook/inbox/asynqinbox"
	"github.com/payhook/payhook/inbox/riverinbox"
	"github.com/payhook/payhook/inbox/sqliteinbox"
	"github.com/payhook/payhook/providers/kasperopay"
	"github.com/payhook/payhook/providers/kazawallet"
	"github.com/payhook/payhook/providers/kkiapay"
)

// opsPage is serve's operator's page (docs/operator.md), for the admin
// listener: the events of gw's inbox (none without PAYHOOK_FORWARD_URL,
// and the page says so), each decoded as its provider's event, and the
// rates that rec counts.
func opsPage(conn *storeConn, gw *gateway, rec *opspage.Recorder, logger *slog.Logger) (*opspage.Page, error) {
	opts := []opspage.Option{
		opspage.WithRecorder(rec),
		opspage.WithLogger(logger),
		opspage.WithClock(clock),
		opspage.WithProvider(kazawallet.Name, opspage.DecoderOf[kazawallet.Event]()),
		opspage.WithProvider(kkiapay.Name, opspage.DecoderOf[kkiapay.Event]()),
		opspage.WithProvider(kasperopay.Name, opspage.DecoderOf[kasperopay.Event]()),
	}
	if ib := gw.inbox(); ib != nil {
		l, err := conn.lister(ib)
		if err != nil {
			return nil, err
		}
		opts = append(opts, opspage.WithInbox(ib, l))
	}
	return opspage.New(opts...)
}

// lister finds the newest entries of ib, the inbox of c's backend
// (backend.go): in SQLite's and River's tables, asynq's queue, or
// through ib's List (memory).
func (c *storeConn) lister(ib *inbox.Inbox) (opspage.Lister, error) {
	switch {
	case c.db != nil:
		return opspage.SQLite(c.db, sqliteinbox.DefaultTable)
	case c.pool != nil:
		return opspage.River(c.pool, riverinbox.DefaultSchema, riverinbox.Kind, riverinbox.DefaultQueue)
	case c.redis != nil:
		return opspage.Asynq(c.redis, asynqinbox.DefaultQueue)
	}
	return opspage.FromInbox(ib, 0), nil
}
