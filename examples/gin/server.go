package main

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/payhook/payhook/examples/internal/shop"
	"github.com/payhook/payhook/expect"
)

// NewServer returns the shop's gin engine: the three providers' webhooks
// under /webhooks and the orders API under /orders.
//
// payhook must be the first thing to read a webhook's body. gin's binding
// (c.ShouldBind, c.ShouldBindJSON, c.Bind) and c.GetRawData read
// c.Request.Body to the end; if a middleware on the webhook route does that
// before payhook runs, payhook gets an empty body and answers 400 to a
// genuine webhook. So the webhooks get their own group, without the orders
// API's body-reading middleware. A middleware that only caps the body
// (limitBody) may sit in front of everything: payhook answers 413 past
// the cap.
func NewServer(cfg shop.Config, orders shop.OrderStore) (*gin.Engine, error) {
	cfg = cfg.WithDefaults()
	r := gin.New()
	r.Use(gin.Recovery(), limitBody(cfg.MaxBodyBytes))
	if err := mountWebhooks(r, cfg, shop.Webhooks{Orders: orders, Log: cfg.Logger}); err != nil {
		return nil, err
	}

	api := ordersAPI{orders, cfg.Expectations}
	group := r.Group("/orders", auditBody(cfg.Logger)) // reads bodies: the API only
	group.POST("", api.create)
	group.GET("/:id", api.get)
	return r, nil
}

// ordersAPI is the shop's own JSON API.
type ordersAPI struct {
	orders   shop.OrderStore
	expected expect.Store // shop.Place adds the expectation of an order naming its provider
}

func (a ordersAPI) create(c *gin.Context) {
	var o shop.Order
	if err := c.ShouldBindJSON(&o); err != nil { // reads the body: fine here, not before payhook
		c.String(http.StatusBadRequest, "invalid order")
		return
	}
	if err := shop.Place(c.Request.Context(), a.orders, a.expected, o); err != nil {
		c.String(shop.CreateStatus(err), err.Error())
		return
	}
	c.Status(http.StatusCreated)
}

func (a ordersAPI) get(c *gin.Context) {
	o, err := a.orders.Get(c.Request.Context(), c.Param("id"))
	if err != nil {
		c.String(http.StatusNotFound, "no such order")
		return
	}
	c.JSON(http.StatusOK, o)
}

// limitBody caps every request body at n bytes without reading it.
func limitBody(n int64) gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, n)
		c.Next()
	}
}

// auditBody logs the size of each request body. It reads the body with
// c.GetRawData and puts it back, so the handler can still bind it.
func auditBody(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		body, err := c.GetRawData()
		if err != nil {
			c.AbortWithStatus(http.StatusRequestEntityTooLarge)
			return
		}
		c.Request.Body = io.NopCloser(bytes.NewReader(body)) // put it back
		log.InfoContext(c.Request.Context(), "audit", "method", c.Request.Method, "path", c.Request.URL.Path, "bytes", len(body))
		c.Next()
	}
}
