package openapi

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"strconv"
)

// Field is one named value of a response body. Values are strings, bools,
// integers, Body (a nested object) or List (repeated objects).
type Field struct {
	Name  string
	Value any
}

// Body is an ordered response object. It renders as a JSON object or as
// XML elements in Alibaba's style (a List repeats its element name).
type Body []Field

// List is a repeated object, rendered as a JSON array, or in XML as one
// element per item, each named by the field.
type List []Body

func (b Body) appendJSON(buf *bytes.Buffer) {
	buf.WriteByte('{')
	for i, f := range b {
		if i > 0 {
			buf.WriteByte(',')
		}
		writeJSONString(buf, f.Name)
		buf.WriteByte(':')
		appendJSONValue(buf, f.Value)
	}
	buf.WriteByte('}')
}

func appendJSONValue(buf *bytes.Buffer, v any) {
	switch v := v.(type) {
	case Body:
		v.appendJSON(buf)
	case List:
		buf.WriteByte('[')
		for i, item := range v {
			if i > 0 {
				buf.WriteByte(',')
			}
			item.appendJSON(buf)
		}
		buf.WriteByte(']')
	case string:
		writeJSONString(buf, v)
	case bool, int, int64:
		appendScalar(buf, v)
	default:
		b, err := json.Marshal(v)
		if err != nil {
			buf.WriteString("null")
			return
		}
		buf.Write(b)
	}
}

// appendScalar writes a bool or an integer, which read the same in JSON and XML.
func appendScalar(buf *bytes.Buffer, v any) {
	switch v := v.(type) {
	case bool:
		buf.Write(strconv.AppendBool(buf.AvailableBuffer(), v))
	case int:
		buf.Write(strconv.AppendInt(buf.AvailableBuffer(), int64(v), 10))
	case int64:
		buf.Write(strconv.AppendInt(buf.AvailableBuffer(), v, 10))
	}
}

func writeJSONString(buf *bytes.Buffer, s string) {
	// Fast path for the common case of plain ASCII without escapes.
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x7f || c == '<' || c == '>' || c == '&' {
			b, _ := json.Marshal(s)
			buf.Write(b)
			return
		}
	}
	buf.WriteByte('"')
	buf.WriteString(s)
	buf.WriteByte('"')
}

func (b Body) appendXML(buf *bytes.Buffer) {
	for _, f := range b {
		if l, ok := f.Value.(List); ok {
			for _, item := range l {
				buf.WriteString("<" + f.Name + ">")
				item.appendXML(buf)
				buf.WriteString("</" + f.Name + ">")
			}
			continue
		}
		buf.WriteString("<" + f.Name + ">")
		switch v := f.Value.(type) {
		case Body:
			v.appendXML(buf)
		case string:
			xml.EscapeText(buf, []byte(v))
		case bool, int, int64:
			appendScalar(buf, v)
		default:
			b, _ := json.Marshal(v)
			xml.EscapeText(buf, b)
		}
		buf.WriteString("</" + f.Name + ">")
	}
}

// render writes the whole answer: root holds the XML root element name.
func render(buf *bytes.Buffer, b Body, xmlFormat bool, root string) {
	if !xmlFormat {
		b.appendJSON(buf)
		return
	}
	buf.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n<" + root + ">")
	b.appendXML(buf)
	buf.WriteString("</" + root + ">")
}
