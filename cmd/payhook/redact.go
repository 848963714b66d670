package main

import "net/url"

// redactURL hides the password of a store URL before it is printed.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		if err != nil {
			return "(unparsable URL)"
		}
		return s
	}
	return u.Redacted()
}
