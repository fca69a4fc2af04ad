//! The user and group databases, `pwd` and `grp`, read from /etc/passwd and /etc/group.
//!
//! RustPython's own modules call glibc's getpwnam() and friends, which go through NSS; in
//! rwsgi's static binary NSS cannot load, and every look-up crashed the process with SIGSEGV
//! (`rwsgi python -c "import pwd; pwd.getpwnam('nosuch')"` exited 139; `os.path.expanduser`
//! without HOME and `getpass.getuser()` go through pwd, so an app could kill its worker in a
//! loop). What a server or a container has is the two files, so these modules read them as
//! glibc's "files" source does: one entry a line, fields separated by ':', lines that do not
//! parse (and NIS '+'/'-' lines) skipped. They are registered under the same names, replacing
//! RustPython's, with CPython's API and messages.

pub(crate) use grp::module_def as grp_module_def;
pub(crate) use pwd::module_def as pwd_module_def;

use std::path::Path;

const PASSWD: &str = "/etc/passwd";
const GROUP: &str = "/etc/group";

/// The entries of a colon-separated database with `fields` fields.
fn entries(path: &Path, fields: usize) -> Vec<Vec<String>> {
    let Ok(data) = std::fs::read(path) else {
        return Vec::new();
    };
    data.split(|b| *b == b'\n')
        .map(|raw| String::from_utf8_lossy(raw.strip_suffix(b"\r").unwrap_or(raw)).into_owned())
        .filter(|line| !line.is_empty() && !line.starts_with(['#', '+', '-']))
        .map(|line| line.split(':').map(str::to_owned).collect::<Vec<_>>())
        .filter(|f| f.len() == fields)
        .collect()
}

/// A user: name, password, uid, gid, gecos, home, shell.
#[derive(Debug, Clone, PartialEq)]
struct User {
    name: String,
    passwd: String,
    uid: u32,
    gid: u32,
    gecos: String,
    dir: String,
    shell: String,
}

fn users(path: &Path) -> Vec<User> {
    entries(path, 7)
        .into_iter()
        .filter_map(|f| {
            let mut f = f.into_iter();
            let (name, passwd) = (f.next()?, f.next()?);
            let uid = f.next()?.parse().ok()?;
            let gid = f.next()?.parse().ok()?;
            Some(User {
                name,
                passwd,
                uid,
                gid,
                gecos: f.next()?,
                dir: f.next()?,
                shell: f.next()?,
            })
        })
        .collect()
}

/// A group: name, password, gid, members.
#[derive(Debug, Clone, PartialEq)]
struct Group {
    name: String,
    passwd: String,
    gid: u32,
    members: Vec<String>,
}

fn groups(path: &Path) -> Vec<Group> {
    entries(path, 4)
        .into_iter()
        .filter_map(|f| {
            let mut f = f.into_iter();
            let (name, passwd) = (f.next()?, f.next()?);
            let gid = f.next()?.parse().ok()?;
            let members = f
                .next()?
                .split(',')
                .filter(|m| !m.is_empty())
                .map(str::to_owned)
                .collect();
            Some(Group {
                name,
                passwd,
                gid,
                members,
            })
        })
        .collect()
}

#[rustpython_vm::pymodule]
mod pwd {
    use std::path::Path;

    use rustpython_vm::{
        AsObject, PyResult, VirtualMachine,
        builtins::{PyIntRef, PyStrRef},
        convert::ToPyObject,
        pyclass, pystruct_sequence, pystruct_sequence_data,
        types::PyStructSequence,
    };

    use super::{PASSWD, User, users};

    #[pystruct_sequence_data]
    struct PasswdData {
        pw_name: String,
        pw_passwd: String,
        pw_uid: u32,
        pw_gid: u32,
        pw_gecos: String,
        pw_dir: String,
        pw_shell: String,
    }

    #[pyattr]
    #[pystruct_sequence(name = "struct_passwd", module = "pwd", data = "PasswdData")]
    struct PyPasswd;

    #[pyclass(with(PyStructSequence))]
    impl PyPasswd {}

    impl From<User> for PasswdData {
        fn from(u: User) -> Self {
            Self {
                pw_name: u.name,
                pw_passwd: u.passwd,
                pw_uid: u.uid,
                pw_gid: u.gid,
                pw_gecos: u.gecos,
                pw_dir: u.dir,
                pw_shell: u.shell,
            }
        }
    }

    /// Return the password database entry for the given user name.
    #[pyfunction]
    fn getpwnam(name: PyStrRef, vm: &VirtualMachine) -> PyResult<PasswdData> {
        let wanted = name.to_string_lossy();
        if wanted.contains('\0') {
            return Err(vm.new_value_error("embedded null character"));
        }
        match users(Path::new(PASSWD))
            .into_iter()
            .find(|u| u.name == wanted)
        {
            Some(u) => Ok(u.into()),
            None => {
                let message = format!(
                    "getpwnam(): name not found: {}",
                    name.as_object().repr(vm)?.to_string_lossy()
                );
                Err(vm.new_key_error(vm.ctx.new_str(message).into()))
            }
        }
    }

    /// Return the password database entry for the given numeric user ID.
    #[pyfunction]
    fn getpwuid(uid: PyIntRef, vm: &VirtualMachine) -> PyResult<PasswdData> {
        let Ok(wanted) = u32::try_from(uid.as_bigint()) else {
            let message = format!("getpwuid(): uid not found: {}", uid.as_bigint());
            return Err(vm.new_key_error(vm.ctx.new_str(message).into()));
        };
        users(Path::new(PASSWD))
            .into_iter()
            .find(|u| u.uid == wanted)
            .map(Into::into)
            .ok_or_else(|| {
                let message = format!("getpwuid(): uid not found: {wanted}");
                vm.new_key_error(vm.ctx.new_str(message).into())
            })
    }

    /// Return a list of all available password database entries, in arbitrary order.
    #[pyfunction]
    fn getpwall(vm: &VirtualMachine) -> Vec<rustpython_vm::PyObjectRef> {
        users(Path::new(PASSWD))
            .into_iter()
            .map(|u| PasswdData::from(u).to_pyobject(vm))
            .collect()
    }
}

#[rustpython_vm::pymodule]
mod grp {
    use std::path::Path;

    use rustpython_vm::{
        AsObject, PyObjectRef, PyResult, VirtualMachine,
        builtins::{PyIntRef, PyListRef, PyStrRef},
        convert::ToPyObject,
        pyclass, pystruct_sequence, pystruct_sequence_data,
        types::PyStructSequence,
    };

    use super::{GROUP, Group, groups};

    #[pystruct_sequence_data]
    struct GroupData {
        gr_name: String,
        gr_passwd: String,
        gr_gid: u32,
        gr_mem: PyListRef,
    }

    #[pyattr]
    #[pystruct_sequence(name = "struct_group", module = "grp", data = "GroupData")]
    struct PyGroup;

    #[pyclass(with(PyStructSequence))]
    impl PyGroup {}

    fn data(g: Group, vm: &VirtualMachine) -> GroupData {
        GroupData {
            gr_name: g.name,
            gr_passwd: g.passwd,
            gr_gid: g.gid,
            gr_mem: vm.ctx.new_list(
                g.members
                    .into_iter()
                    .map(|m| vm.ctx.new_str(m).into())
                    .collect(),
            ),
        }
    }

    /// Return the group database entry for the given numeric group ID.
    #[pyfunction]
    fn getgrgid(id: PyIntRef, vm: &VirtualMachine) -> PyResult<GroupData> {
        let Ok(wanted) = u32::try_from(id.as_bigint()) else {
            let message = format!("getgrgid(): gid not found: {}", id.as_bigint());
            return Err(vm.new_key_error(vm.ctx.new_str(message).into()));
        };
        groups(Path::new(GROUP))
            .into_iter()
            .find(|g| g.gid == wanted)
            .map(|g| data(g, vm))
            .ok_or_else(|| {
                let message = format!("getgrgid(): gid not found: {wanted}");
                vm.new_key_error(vm.ctx.new_str(message).into())
            })
    }

    /// Return the group database entry for the given group name.
    #[pyfunction]
    fn getgrnam(name: PyStrRef, vm: &VirtualMachine) -> PyResult<GroupData> {
        let wanted = name.to_string_lossy();
        if wanted.contains('\0') {
            return Err(vm.new_value_error("embedded null character"));
        }
        match groups(Path::new(GROUP))
            .into_iter()
            .find(|g| g.name == wanted)
        {
            Some(g) => Ok(data(g, vm)),
            None => {
                let message = format!(
                    "getgrnam(): name not found: {}",
                    name.as_object().repr(vm)?.to_string_lossy()
                );
                Err(vm.new_key_error(vm.ctx.new_str(message).into()))
            }
        }
    }

    /// Return a list of all available group database entries, in arbitrary order.
    #[pyfunction]
    fn getgrall(vm: &VirtualMachine) -> Vec<PyObjectRef> {
        groups(Path::new(GROUP))
            .into_iter()
            .map(|g| data(g, vm).to_pyobject(vm))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_parse_as_glibc_files_does() {
        let dir = std::env::temp_dir().join(format!("rwsgi-userdb-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let passwd = dir.join("passwd");
        std::fs::write(
            &passwd,
            "root:x:0:0:root:/root:/bin/sh\n+nis::::::\n# comment\nbad:x:zero:0:::\nshort:x:1\n\
             app:x:1000:1000:App,,,:/home/app:/bin/false\r\n",
        )
        .expect("write");
        let found = users(&passwd);
        assert_eq!(found.len(), 2);
        assert_eq!(found[1].name, "app");
        assert_eq!(found[1].shell, "/bin/false");
        assert_eq!(found[1].gecos, "App,,,");
        let group = dir.join("group");
        std::fs::write(&group, "wheel:x:10:root,app\nempty:x:11:\n").expect("write");
        let found = groups(&group);
        assert_eq!(found[0].members, ["root", "app"]);
        assert!(found[1].members.is_empty());
        assert!(users(&dir.join("absent")).is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
