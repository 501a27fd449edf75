package codebuild

import (
	"fmt"
	"os"
	"os/user"
	"strconv"
	"strings"

	"github.com/pipewright/pipewright/codebuild/buildspec"
	"github.com/pipewright/pipewright/runner"
)

// Users says who builds run as and whom a buildspec's run-as may name.
// A build runs as one user from its first command to its last: its whole
// process tree is started as that user.
type Users struct {
	// Default is who a build runs as when its buildspec names no one: the
	// job user of a server running as root, else the server's own user.
	// A run-as may always name it (it changes nothing).
	Default BuildUser
	// Others are the other users a run-as may name (--build-users). Only a
	// server running as root has them: it starts the build's tree as that
	// user. Root (uid 0) is never among them.
	Others []BuildUser
	// Root says that the server runs as root, for the messages of a
	// refused run-as.
	Root bool
}

// BuildUser is a user builds may run as.
type BuildUser struct {
	// Name is the user's login name, "" when the user database does not
	// know the UID.
	Name string
	runner.Credential
}

// label is how the log and messages name the user: "NAME (uid N)".
func (u BuildUser) label() string {
	if u.Name == "" {
		return fmt.Sprintf("uid %d", u.UID)
	}
	return fmt.Sprintf("%s (uid %d)", u.Name, u.UID)
}

// ResolveUsers makes the Users of a server: builds run by default as the
// runner's job user (when it has one) or the server's own user, and
// others names the --build-users (NAME or UID, optionally :GROUP or :GID,
// as --job-user). Only a server running as root may name others, and
// never root.
func ResolveUsers(others []string, run *runner.Runner) (Users, error) {
	us := Users{Root: os.Geteuid() == 0}
	cred, ok := run.JobCredential()
	if !ok {
		cred = runner.Credential{UID: uint32(os.Geteuid()), GID: uint32(os.Getegid())}
	}
	us.Default = BuildUser{Name: userName(cred.UID), Credential: cred}
	for _, name := range others {
		if !us.Root {
			return Users{}, fmt.Errorf("--build-users %s: only a server running as root runs builds as other users; this one runs as uid %d, and so do its builds", strings.Join(others, ","), os.Geteuid())
		}
		c, err := runner.ParseCredential(name)
		if err != nil {
			return Users{}, fmt.Errorf("--build-users: %w", err)
		}
		if c.UID == 0 {
			return Users{}, fmt.Errorf("--build-users %s: builds never run as root (uid 0)", name)
		}
		us.Others = append(us.Others, BuildUser{Name: userName(c.UID), Credential: c})
	}
	return us, nil
}

// userName is the login name of a UID, "" when the user database does not
// know it.
func userName(uid uint32) string {
	u, err := user.LookupId(strconv.FormatUint(uint64(uid), 10))
	if err != nil {
		return ""
	}
	return u.Username
}

// runAs is how a build applies its buildspec's run-as.
type runAs struct {
	user BuildUser
	// cred is the job's user, nil for Users.Default (the runner's own).
	cred *runner.Credential
	// refused maps the phases whose run-as names another user than the
	// build's to why they fail (buildspec.DriverOptions.Refused).
	refused map[string]string
}

// env is what the build's environment says of its user: USER and LOGNAME.
// (HOME is the build's own directory in its workspace, which belongs to
// that user.)
func (r runAs) env() []string {
	if r.user.Name == "" {
		return nil
	}
	return []string{"USER=" + r.user.Name, "LOGNAME=" + r.user.Name}
}

// runAs decides who the build runs as: the top-level run-as, else env's,
// else the run-as that every declared phase names alike, else the default
// user. A run-as naming a user builds may not run as fails the build
// before it runs; a phase naming another user than the build's fails that
// phase (one shell session runs as one user).
func (s *Service) runAs(spec *buildspec.Spec) (runAs, *phaseContext) {
	us := s.cfg.Users
	out := runAs{user: us.Default}
	name, where := spec.RunAs, "run-as"
	if env := spec.Env.RunAs; env != "" && name == "" {
		name, where = env, "env/run-as"
	} else if env != "" && env != name {
		eu, err := us.find(env)
		if err != nil {
			return out, &phaseContext{"CLIENT_ERROR", "env/run-as " + err.Error()}
		}
		if tu, err := us.find(name); err == nil && tu.UID != eu.UID {
			return out, &phaseContext{"CLIENT_ERROR", fmt.Sprintf("run-as %s and env/run-as %s name different users: a build runs as one user", name, env)}
		}
	}
	if name == "" {
		name, where = commonPhaseUser(spec), "run-as"
	}
	if name != "" {
		u, err := us.find(name)
		if err != nil {
			return out, &phaseContext{"CLIENT_ERROR", where + " " + err.Error()}
		}
		out.user = u
		if u.UID != us.Default.UID {
			c := u.Credential
			out.cred = &c
		}
	}
	for _, p := range spec.Phases {
		if p.RunAs == "" {
			continue
		}
		u, err := us.find(p.RunAs)
		if err == nil && u.UID == out.user.UID {
			continue
		}
		why := fmt.Sprintf("run-as %s: this phase cannot run as another user than the build's, %s: a build's phases run in one shell session, as one user; name the user at the top of the buildspec (run-as) or alike in every phase", p.RunAs, out.user.label())
		if err != nil {
			why = "run-as " + err.Error()
		}
		if out.refused == nil {
			out.refused = map[string]string{}
		}
		out.refused[p.Name] = why
	}
	return out, nil
}

// commonPhaseUser is the run-as every declared phase names alike, "" when
// one names none or they differ.
func commonPhaseUser(spec *buildspec.Spec) string {
	name := ""
	for i, p := range spec.Phases {
		if p.RunAs == "" || i > 0 && p.RunAs != name {
			return ""
		}
		name = p.RunAs
	}
	return name
}

// find returns the user a run-as names (a login name or a UID) if builds
// may run as it, else an error starting with that name and saying why and
// how to allow it.
func (us Users) find(name string) (BuildUser, error) {
	uid, err := lookupUID(name)
	if err != nil {
		return BuildUser{}, fmt.Errorf("%s: no such user on this machine; create it and start pipewright (as root) with --build-users %s", name, name)
	}
	if uid == us.Default.UID {
		return us.Default, nil
	}
	for _, u := range us.Others {
		if u.UID == uid {
			return u, nil
		}
	}
	switch {
	case uid == 0:
		return BuildUser{}, fmt.Errorf("%s: builds never run as root (uid 0) on pipewright: they run as %s; remove run-as, or name a user that --build-users lists", name, us.Default.label())
	case !us.Root:
		return BuildUser{}, fmt.Errorf("%s: pipewright does not run as root and cannot switch users: builds run as %s; to run them as %s, start pipewright as root with --build-users %s", name, us.Default.label(), name, name)
	}
	return BuildUser{}, fmt.Errorf("%s: not a user builds may run as: they run as %s (the --job-user)%s; to allow it, start pipewright with --build-users %s", name, us.Default.label(), us.othersText(), name)
}

// othersText lists the --build-users for a message.
func (us Users) othersText() string {
	if len(us.Others) == 0 {
		return " and --build-users names no one"
	}
	var names []string
	for _, u := range us.Others {
		names = append(names, u.label())
	}
	return " or as " + strings.Join(names, ", ") + " (--build-users)"
}

// lookupUID is the UID a run-as names: a UID as it is, or the UID of a
// login name the user database knows.
func lookupUID(name string) (uint32, error) {
	if id, err := strconv.ParseUint(name, 10, 32); err == nil {
		return uint32(id), nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		return 0, err
	}
	id, err := strconv.ParseUint(u.Uid, 10, 32)
	return uint32(id), err
}
