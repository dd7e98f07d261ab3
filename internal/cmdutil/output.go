package cmdutil

import (
	"encoding/json"
	"io"
)

// Cell shows an empty table cell as "-", so columns stay readable.
func Cell(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// WriteJSONLine writes v as one compact JSON line.
func WriteJSONLine(w io.Writer, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(data, '\n'))
	return err
}
