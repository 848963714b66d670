package shop

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/payhook/payhook/expect"
)

// API is the shop's own JSON API over net/http, for routers that take
// http.Handler: POST a JSON Order to Create, GET one by its id with Get
// (the route's {id} path value, r.PathValue, which ServeMux and chi set).
// Expected receives the expectation of each order that names its
// provider (Place).
type API struct {
	Orders   OrderStore
	Expected expect.Store
}

// Place creates o in orders and, when o names its provider (its payment
// starts), adds its expectation to expected (Expect), so that payhook
// hands the webhook handlers that payment checked against it.
func Place(ctx context.Context, orders OrderStore, expected expect.Store, o Order) error {
	if err := orders.Create(ctx, o); err != nil {
		return err
	}
	if o.Provider == "" {
		return nil
	}
	return Expect(ctx, expected, o)
}

// Create creates the order in the request's JSON body: 201, 400 or 409.
func (a API) Create(w http.ResponseWriter, r *http.Request) {
	var o Order
	if err := json.NewDecoder(r.Body).Decode(&o); err != nil {
		http.Error(w, "invalid order", http.StatusBadRequest)
		return
	}
	if err := Place(r.Context(), a.Orders, a.Expected, o); err != nil {
		http.Error(w, err.Error(), CreateStatus(err))
		return
	}
	w.WriteHeader(http.StatusCreated)
}

// Get answers the order named by the {id} path value as JSON, or 404.
func (a API) Get(w http.ResponseWriter, r *http.Request) {
	o, err := a.Orders.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		http.Error(w, "no such order", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(o)
}

// CreateStatus is the status that answers Place's error.
func CreateStatus(err error) int {
	if errors.Is(err, ErrOrderExists) {
		return http.StatusConflict
	}
	return http.StatusBadRequest
}
