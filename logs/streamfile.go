package logs

// parserOf returns how the lines of a stream's file read as events.
func parserOf(st *Stream) func(line []byte, fallback int64) (ts, ingestion int64, msg string) {
	if st.Kind == KindAPI {
		return parseAPI
	}
	return parseAttached
}

// events reads a stream's file as events: a logFile and its line format.
type events struct {
	*logFile
	parse    func(line []byte, fallback int64) (ts, ingestion int64, msg string)
	fallback int64 // the time of a damaged line: the stream's creation
}

func openEvents(st *Stream) (*events, error) {
	lf, err := openLog(st.Path)
	if err != nil {
		return nil, err
	}
	return &events{logFile: lf, parse: parserOf(st), fallback: st.Created.UnixMilli()}, nil
}

func (e *events) event(line []byte, start, next int64) event {
	ts, ing, msg := e.parse(line, e.fallback)
	return event{Timestamp: ts, Ingestion: ing, Message: msg, Offset: start, Next: next}
}

// streamStats is what DescribeLogStreams tells of a stream's events.
type streamStats struct {
	first, last *event // nil when the stream has no complete line
	bytes       int64
}

// stats reads a stream's first and last complete lines and its size.
func stats(st *Stream) (streamStats, error) {
	ev, err := openEvents(st)
	if err != nil {
		return streamStats{}, err
	}
	defer ev.close()
	out := streamStats{bytes: ev.size}
	line, start, next, ok, err := ev.forward(0).next()
	if err != nil || !ok {
		return out, err
	}
	first := ev.event(line, start, next)
	out.first = &first
	end, err := ev.completeEnd()
	if err != nil {
		return out, err
	}
	err = ev.backward(end, func(line []byte, start, next int64) bool {
		last := ev.event(line, start, next)
		out.last = &last
		return false
	})
	return out, err
}
