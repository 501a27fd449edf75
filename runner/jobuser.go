package runner

import (
	"fmt"
	"os/user"
	"strconv"
	"strings"
)

// NobodyCredential is the default job user of a server running as root:
// nobody and nogroup, 65534:65534 on Debian and most other systems.
var NobodyCredential = Credential{UID: 65534, GID: 65534}

// ParseCredential reads a job user given as NAME or UID, optionally
// followed by :GROUP or :GID. Without a group, the user's primary group is
// used, or the GID equal to the UID for a UID the user database does not
// know.
func ParseCredential(s string) (Credential, error) {
	name, group, hasGroup := strings.Cut(s, ":")
	if name == "" || hasGroup && group == "" {
		return Credential{}, fmt.Errorf("job user %q: want NAME or UID, optionally followed by :GROUP or :GID", s)
	}
	var c Credential
	var primary string
	if uid, err := strconv.ParseUint(name, 10, 32); err == nil {
		c.UID, primary = uint32(uid), name
		if u, err := user.LookupId(name); err == nil {
			primary = u.Gid
		}
	} else {
		u, err := user.Lookup(name)
		if err != nil {
			return Credential{}, fmt.Errorf("job user %q: %w", s, err)
		}
		id, err := strconv.ParseUint(u.Uid, 10, 32)
		if err != nil {
			return Credential{}, fmt.Errorf("job user %q: uid %q: %w", s, u.Uid, err)
		}
		c.UID, primary = uint32(id), u.Gid
	}
	if !hasGroup {
		group = primary
	}
	gid, err := strconv.ParseUint(group, 10, 32)
	if err != nil {
		g, lerr := user.LookupGroup(group)
		if lerr != nil {
			return Credential{}, fmt.Errorf("job user %q: %w", s, lerr)
		}
		if gid, err = strconv.ParseUint(g.Gid, 10, 32); err != nil {
			return Credential{}, fmt.Errorf("job user %q: gid %q: %w", s, g.Gid, err)
		}
	}
	c.GID = uint32(gid)
	return c, nil
}
