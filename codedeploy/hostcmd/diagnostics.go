package hostcmd

import (
	"encoding/json"
	"strconv"
)

// Diagnostics is what an agent reports with a command's end (its
// ScriptError#to_json): error_code is 0 for success, 1 script missing, 2
// not executable, 3 timed out, 4 failed, 5 unknown, 6 outputs left open, 7
// failed after a restart.
type Diagnostics struct {
	ErrorCode  string `json:"error_code"`
	ScriptName string `json:"script_name"`
	Message    string `json:"message"`
	Log        string `json:"log"`
}

// ParseDiagnostics reads a JSON diagnostics envelope. error_code, a number
// or (in the agent's fallback) a string, is given as text. ok is false when
// e is nil, not of Format "JSON" or not such a document.
func ParseDiagnostics(e *Envelope) (d Diagnostics, ok bool) {
	if e == nil || e.Format == nil || *e.Format != "JSON" || e.Payload == nil {
		return d, false
	}
	var raw struct {
		ErrorCode  json.RawMessage `json:"error_code"`
		ScriptName string          `json:"script_name"`
		Message    string          `json:"message"`
		Log        string          `json:"log"`
	}
	if json.Unmarshal([]byte(*e.Payload), &raw) != nil {
		return d, false
	}
	d = Diagnostics{ScriptName: raw.ScriptName, Message: raw.Message, Log: raw.Log}
	var n json.Number
	var s string
	switch {
	case len(raw.ErrorCode) == 0:
	case json.Unmarshal(raw.ErrorCode, &n) == nil:
		d.ErrorCode = n.String()
	case json.Unmarshal(raw.ErrorCode, &s) == nil:
		d.ErrorCode = s
	default:
		d.ErrorCode = strconv.Quote(string(raw.ErrorCode))
	}
	return d, true
}
