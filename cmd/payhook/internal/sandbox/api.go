package sandbox

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"html"
	"io"
	"net/http"
)

// maxBody bounds the body of a call to the APIs.
const maxBody = 1 << 20

// readJSON decodes r's JSON body into v. On failure it returns the status
// to answer (413 for a body over maxBody, 400 otherwise) and why, for the
// provider to answer in its own words.
func readJSON(w http.ResponseWriter, r *http.Request, v any) (int, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return http.StatusRequestEntityTooLarge, errors.New("request body too large")
	case err != nil:
		return http.StatusBadRequest, errors.New("request body could not be read")
	case json.Unmarshal(body, v) != nil:
		return http.StatusBadRequest, errors.New("request body is not the expected JSON object")
	}
	return 0, nil
}

// jsonText reads a JSON string, or a number as its text; null as "". The
// providers' integrations send ids and amounts either way.
type jsonText string

func (t *jsonText) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case string(b) == "null":
		*t = ""
		return nil
	case len(b) > 0 && b[0] == '"':
		var s string
		err := json.Unmarshal(b, &s)
		*t = jsonText(s)
		return err
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return errors.New("not a string or a number")
	}
	*t = jsonText(n)
	return nil
}

// writeJSON answers status with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	writeRaw(w, status, b)
}

// writeRaw answers status with the JSON in b.
func writeRaw(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// expressNotFound is what the providers' servers (Express) answer for a
// method or path they do not serve.
func expressNotFound(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusNotFound)
	io.WriteString(w, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Error</title></head>"+
		"<body><pre>Cannot "+html.EscapeString(r.Method+" "+r.URL.Path)+"</pre></body></html>\n")
}

// equal compares a credential received with the one configured, in
// constant time whatever their lengths. An empty configured value never
// matches.
func equal(got, want string) bool {
	g, wt := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], wt[:]) == 1 && want != ""
}

// baseURL is the sandbox's base URL as the caller reached it.
func baseURL(r *http.Request) string { return "http://" + r.Host }
