//! FS (module 0x04, `syscalls.md` §6): files under one sandbox root directory.
//!
//! Every path is resolved component by component from an open handle on the root
//! (`cap-std`), never following a symbolic link: an intermediate directory is opened
//! with `O_NOFOLLOW`-style semantics and the final component is checked with
//! `symlink_metadata` and opened without following links. A concurrent host change
//! therefore cannot redirect an operation outside the root (`syscalls.md` §6.2 rule 5).

use std::collections::BTreeMap;
use std::io::{ErrorKind, Read, Write};
use std::path::Path;

use cap_fs_ext::{DirExt, FollowSymlinks, OpenOptionsFollowExt};
use cap_std::ambient_authority;
use cap_std::fs::{Dir, File, OpenOptions};
use hsx_isa::ENOSYS;
use hsx_mailbox::StdioStream;

use super::low16;
use crate::executive::Executive;
use crate::sandbox::{self, PathError};
use crate::sched::Slot;
use crate::task::Pid;

/// OPEN.
pub const OPEN: u8 = 0;
/// READ.
pub const READ: u8 = 1;
/// WRITE.
pub const WRITE: u8 = 2;
/// CLOSE.
pub const CLOSE: u8 = 3;
/// LISTDIR.
pub const LISTDIR: u8 = 10;
/// DELETE.
pub const DELETE: u8 = 11;
/// RENAME.
pub const RENAME: u8 = 12;
/// MKDIR.
pub const MKDIR: u8 = 13;

const fn neg(errno: i32) -> u32 {
    (-errno) as u32
}

/// Missing file or directory.
pub const ENOENT: u32 = neg(2);
/// Host I/O error.
pub const EIO: u32 = neg(5);
/// fd not open, or wrong direction.
pub const EBADF: u32 = neg(9);
/// Symbolic link, or host permission.
pub const EACCES: u32 = neg(13);
/// Open in some task.
pub const EBUSY: u32 = neg(16);
/// Exists.
pub const EEXIST: u32 = neg(17);
/// No FS root configured.
pub const ENODEV: u32 = neg(19);
/// Not a directory.
pub const ENOTDIR: u32 = neg(20);
/// Is a directory.
pub const EISDIR: u32 = neg(21);
/// Malformed argument.
pub const EINVAL: u32 = neg(22);
/// Too many open files.
pub const EMFILE: u32 = neg(24);
/// Disk full.
pub const ENOSPC: u32 = neg(28);
/// Directory not empty.
pub const ENOTEMPTY: u32 = neg(39);

/// OPEN flags.
pub mod open_flags {
    /// Read access.
    pub const RDONLY: u32 = 0x01;
    /// Write access.
    pub const WRONLY: u32 = 0x02;
    /// Both.
    pub const RDWR: u32 = 0x03;
    /// Create if missing.
    pub const CREAT: u32 = 0x04;
    /// Truncate (needs write access).
    pub const TRUNC: u32 = 0x08;
    /// Writes go to the end of the file.
    pub const APPEND: u32 = 0x10;
}

/// Open files per task.
pub const MAX_FILES: usize = 16;
/// Longest path (bytes, NUL excluded).
pub const MAX_PATH: usize = 255;

struct OpenFile {
    file: File,
    path: Vec<String>,
    read: bool,
    write: bool,
}

/// Per-task file tables and the root handle.
#[derive(Default)]
pub(crate) struct FsState {
    root: Option<Dir>,
    /// fd − 3 → file, per pid.
    tables: BTreeMap<Pid, Vec<Option<OpenFile>>>,
}

impl FsState {
    /// Close every file of a task (termination, reap).
    pub(crate) fn task_ended(&mut self, pid: Pid) {
        self.tables.remove(&pid);
    }

    /// True if `path` or anything below it is open in any task.
    fn is_open(&self, path: &[String]) -> bool {
        self.tables
            .values()
            .flatten()
            .flatten()
            .any(|f| f.path.starts_with(path))
    }
}

/// Map a host error to −errno (`syscalls.md` §2.3).
fn errno(e: &std::io::Error) -> u32 {
    #[cfg(unix)]
    if e.raw_os_error() == Some(40) {
        // ELOOP: a link appeared where none was allowed.
        return EACCES;
    }
    match e.kind() {
        ErrorKind::NotFound => ENOENT,
        ErrorKind::PermissionDenied => EACCES,
        ErrorKind::AlreadyExists => EEXIST,
        ErrorKind::NotADirectory => ENOTDIR,
        ErrorKind::IsADirectory => EISDIR,
        ErrorKind::DirectoryNotEmpty => ENOTEMPTY,
        ErrorKind::StorageFull => ENOSPC,
        ErrorKind::InvalidInput | ErrorKind::InvalidFilename => EINVAL,
        _ => EIO,
    }
}

fn path_errno(e: PathError) -> u32 {
    match e {
        PathError::Invalid => EINVAL,
        PathError::Link => EACCES,
        PathError::NotDir => ENOTDIR,
        PathError::Missing => ENOENT,
    }
}

/// A resolved path: the open parent directory and the final component (`None` for the
/// root itself).
struct Resolved {
    parent: Dir,
    last: Option<String>,
}

/// What the final component is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Missing,
    File,
    Dir,
}

impl Resolved {
    fn kind(&self) -> Result<Kind, u32> {
        let Some(last) = &self.last else {
            return Ok(Kind::Dir);
        };
        match self.parent.symlink_metadata(last) {
            Ok(m) if m.file_type().is_symlink() => Err(EACCES),
            Ok(m) if m.is_dir() => Ok(Kind::Dir),
            Ok(_) => Ok(Kind::File),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(Kind::Missing),
            Err(e) => Err(errno(&e)),
        }
    }

    /// The named directory itself, opened without following links.
    fn open_dir(&self) -> Result<Dir, u32> {
        match &self.last {
            None => self.parent.try_clone().map_err(|e| errno(&e)),
            Some(last) => match self.kind()? {
                Kind::Missing => Err(ENOENT),
                Kind::File => Err(ENOTDIR),
                Kind::Dir => self.parent.open_dir_nofollow(last).map_err(|e| errno(&e)),
            },
        }
    }
}

/// Walk to the parent of `parts` from `root`, one component at a time, refusing links
/// and non-directories (`syscalls.md` §6.2 rule 4).
fn walk(root: &Dir, parts: &[String]) -> Result<Resolved, u32> {
    let mut dir = root.try_clone().map_err(|e| errno(&e))?;
    let Some((last, inner)) = parts.split_last() else {
        return Ok(Resolved {
            parent: dir,
            last: None,
        });
    };
    for part in inner {
        match dir.symlink_metadata(part) {
            Ok(m) if m.file_type().is_symlink() => return Err(EACCES),
            Ok(m) if !m.is_dir() => return Err(ENOTDIR),
            Ok(_) => {}
            Err(e) => return Err(errno(&e)),
        }
        dir = dir.open_dir_nofollow(part).map_err(|e| errno(&e))?;
    }
    Ok(Resolved {
        parent: dir,
        last: Some(last.clone()),
    })
}

/// A name that LISTDIR may show: a valid single component (`syscalls.md` §6.2 rule 1).
fn listable(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_PATH
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| (0x20..=0x7E).contains(&b) && b != b'\\' && b != b':' && b != b'/')
}

#[inline(never)]
pub(crate) fn dispatch(exec: &mut Executive, slot: Slot, function: u8) {
    let regs = exec.args(slot);
    let r0 = match function {
        OPEN => open(exec, slot, low16(regs[1]), regs[2]),
        READ => match read(exec, slot, low16(regs[1]), low16(regs[2]), low16(regs[3])) {
            Some(r) => r,
            None => return, // blocked on stdin
        },
        WRITE => write(exec, slot, low16(regs[1]), low16(regs[2]), low16(regs[3])),
        CLOSE => close(exec, slot, low16(regs[1])),
        LISTDIR => listdir(exec, slot, low16(regs[1]), low16(regs[2]), low16(regs[3])),
        DELETE => delete(exec, slot, low16(regs[1])),
        RENAME => rename(exec, slot, low16(regs[1]), low16(regs[2])),
        MKDIR => mkdir(exec, slot, low16(regs[1])),
        _ => ENOSYS,
    };
    exec.set_reg(slot, 0, r0);
}

/// The root handle, opened on first use.
fn root(exec: &mut Executive) -> Result<Dir, u32> {
    if exec.io.fs.root.is_none() {
        let Some(path) = exec.config.fs_root.clone() else {
            return Err(ENODEV);
        };
        let dir = Dir::open_ambient_dir(&path, ambient_authority()).map_err(|_| ENODEV)?;
        exec.io.fs.root = Some(dir);
    }
    match &exec.io.fs.root {
        Some(d) => d.try_clone().map_err(|e| errno(&e)),
        None => Err(ENODEV),
    }
}

/// Read and check a guest path: `(root, components)`.
fn path_arg(
    exec: &mut Executive,
    slot: Slot,
    ptr: u32,
    allow_root: bool,
) -> Result<(Dir, Vec<String>), u32> {
    let root = root(exec)?;
    let text = exec.read_c_string(slot, ptr, MAX_PATH).ok_or(EINVAL)?;
    let parts = sandbox::components(&text, allow_root).map_err(path_errno)?;
    Ok((root, parts))
}

fn open(exec: &mut Executive, slot: Slot, ptr: u32, flags: u32) -> u32 {
    use open_flags::*;
    let (root, parts) = match path_arg(exec, slot, ptr, false) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let flags = if flags & 0x1F == 0 {
        RDWR | CREAT
    } else {
        flags
    };
    let access = match flags & RDWR {
        0 => RDWR,
        a => a,
    };
    let (read, write) = (access & RDONLY != 0, access & WRONLY != 0);
    if flags & TRUNC != 0 && !write {
        return EINVAL;
    }
    let pid = exec.t(slot).pid;
    let table = exec.io.fs.tables.entry(pid).or_default();
    let fd_index = table
        .iter()
        .position(Option::is_none)
        .unwrap_or(table.len());
    if fd_index >= MAX_FILES {
        return EMFILE;
    }
    let resolved = match walk(&root, &parts) {
        Ok(r) => r,
        Err(e) => return e,
    };
    match resolved.kind() {
        Err(e) => return e,
        Ok(Kind::Dir) => return EISDIR,
        Ok(Kind::Missing) if flags & CREAT == 0 => return ENOENT,
        Ok(_) => {}
    }
    let Some(last) = &resolved.last else {
        return EISDIR;
    };
    let mut options = OpenOptions::new();
    options
        .read(read)
        .write(write)
        .append(flags & APPEND != 0 && write)
        .truncate(flags & TRUNC != 0)
        .create(flags & CREAT != 0 && write)
        .follow(FollowSymlinks::No);
    if flags & CREAT != 0 && !write {
        // Creating needs write access on the host; create empty, then open read-only.
        let mut create = OpenOptions::new();
        create.write(true).create(true).follow(FollowSymlinks::No);
        if let Err(e) = resolved.parent.open_with(last, &create) {
            return errno(&e);
        }
    }
    let file = match resolved.parent.open_with(last, &options) {
        Ok(f) => f,
        Err(e) => return errno(&e),
    };
    if file.metadata().is_ok_and(|m| m.is_dir()) {
        return EISDIR;
    }
    let table = exec.io.fs.tables.entry(pid).or_default();
    let entry = OpenFile {
        file,
        path: parts,
        read,
        write,
    };
    if fd_index == table.len() {
        table.push(Some(entry));
    } else {
        table[fd_index] = Some(entry);
    }
    fd_index as u32 + 3
}

fn file_mut(exec: &mut Executive, slot: Slot, fd: u32) -> Option<&mut OpenFile> {
    let pid = exec.t(slot).pid;
    let index = usize::try_from(fd.checked_sub(3)?).ok()?;
    exec.io.fs.tables.get_mut(&pid)?.get_mut(index)?.as_mut()
}

/// READ; `None` when fd 0 blocked.
fn read(exec: &mut Executive, slot: Slot, fd: u32, dst: u32, len: u32) -> Option<u32> {
    match fd {
        0 => return crate::syscall::mbx::read_stdin(exec, slot, dst, len),
        1 | 2 => return Some(EBADF),
        _ => {}
    }
    let Some(f) = file_mut(exec, slot, fd) else {
        return Some(EBADF);
    };
    if !f.read {
        return Some(EBADF);
    }
    if exec.guest_range(slot, dst, len).is_none() {
        return Some(EINVAL);
    }
    let Some(f) = file_mut(exec, slot, fd) else {
        return Some(EBADF);
    };
    let mut buf = vec![0u8; len as usize];
    let mut got = 0;
    while got < buf.len() {
        match f.file.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Some(errno(&e)),
        }
    }
    if let Some((phys, n)) = exec.guest_range(slot, dst, got as u32)
        && let Some(out) = exec.ram.bytes_mut(phys, n)
    {
        out.copy_from_slice(&buf[..got]);
    }
    Some(got as u32)
}

fn write(exec: &mut Executive, slot: Slot, fd: u32, src: u32, len: u32) -> u32 {
    let stream = match fd {
        0 => return EBADF,
        1 => Some(StdioStream::Out),
        2 => Some(StdioStream::Err),
        _ => None,
    };
    if let Some(stream) = stream {
        return exec.stdio_write(slot, stream, src, len).unwrap_or(EINVAL);
    }
    match file_mut(exec, slot, fd) {
        None => return EBADF,
        Some(f) if !f.write => return EBADF,
        Some(_) => {}
    }
    let Some(data) = exec.read_guest(slot, src, len) else {
        return EINVAL;
    };
    let Some(f) = file_mut(exec, slot, fd) else {
        return EBADF;
    };
    match f.file.write_all(&data) {
        Ok(()) => len,
        Err(e) => errno(&e),
    }
}

fn close(exec: &mut Executive, slot: Slot, fd: u32) -> u32 {
    if fd <= 2 {
        return 0;
    }
    let pid = exec.t(slot).pid;
    let index = (fd - 3) as usize;
    let Some(table) = exec.io.fs.tables.get_mut(&pid) else {
        return EBADF;
    };
    match table.get_mut(index).and_then(Option::take) {
        Some(_) => {
            while table.last().is_some_and(Option::is_none) {
                table.pop();
            }
            0
        }
        None => EBADF,
    }
}

fn listdir(exec: &mut Executive, slot: Slot, ptr: u32, dst: u32, max: u32) -> u32 {
    let (root, parts) = match path_arg(exec, slot, ptr, true) {
        Ok(p) => p,
        Err(e) => return e,
    };
    if exec.guest_range(slot, dst, max).is_none() {
        return EINVAL;
    }
    let dir = match walk(&root, &parts).and_then(|r| r.open_dir()) {
        Ok(d) => d,
        Err(e) => return e,
    };
    let entries = match dir.entries() {
        Ok(e) => e,
        Err(e) => return errno(&e),
    };
    let mut names: Vec<Vec<u8>> = Vec::new();
    for entry in entries {
        let Ok(entry) = entry else { continue };
        let Ok(ft) = entry.file_type() else { continue };
        if ft.is_symlink() {
            continue;
        }
        let name = entry.file_name();
        let Some(name) = name.to_str().filter(|n| listable(n)) else {
            continue;
        };
        let mut line = name.as_bytes().to_vec();
        if ft.is_dir() {
            line.push(b'/');
        }
        line.push(b'\n');
        names.push(line);
    }
    names.sort();
    let mut out = Vec::new();
    for line in names {
        if out.len() + line.len() > max as usize {
            break;
        }
        out.extend_from_slice(&line);
    }
    if let Some((phys, n)) = exec.guest_range(slot, dst, out.len() as u32)
        && let Some(buf) = exec.ram.bytes_mut(phys, n)
    {
        buf.copy_from_slice(&out);
    }
    out.len() as u32
}

fn delete(exec: &mut Executive, slot: Slot, ptr: u32) -> u32 {
    let (root, parts) = match path_arg(exec, slot, ptr, false) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let resolved = match walk(&root, &parts) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let Some(last) = resolved.last.as_deref() else {
        return EINVAL;
    };
    let result = match resolved.kind() {
        Err(e) => return e,
        Ok(Kind::Missing) => return ENOENT,
        Ok(_) if exec.io.fs.is_open(&parts) => return EBUSY,
        Ok(Kind::Dir) => resolved.parent.remove_dir(last),
        Ok(Kind::File) => resolved.parent.remove_file(last),
    };
    match result {
        Ok(()) => 0,
        Err(e) => errno(&e),
    }
}

fn rename(exec: &mut Executive, slot: Slot, old: u32, new: u32) -> u32 {
    let (root, from) = match path_arg(exec, slot, old, false) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let (_, to) = match path_arg(exec, slot, new, false) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let (src, dst) = match (walk(&root, &from), walk(&root, &to)) {
        (Ok(s), Ok(d)) => (s, d),
        (Err(e), _) | (_, Err(e)) => return e,
    };
    match src.kind() {
        Err(e) => return e,
        Ok(Kind::Missing) => return ENOENT,
        Ok(_) => {}
    }
    match dst.kind() {
        Err(EACCES) | Ok(Kind::File) | Ok(Kind::Dir) => return EEXIST,
        Err(e) => return e,
        Ok(Kind::Missing) => {}
    }
    if exec.io.fs.is_open(&from) {
        return EBUSY;
    }
    if to.starts_with(&from) {
        // A directory cannot move into itself.
        return EINVAL;
    }
    let (Some(a), Some(b)) = (src.last.as_deref(), dst.last.as_deref()) else {
        return EINVAL;
    };
    match src.parent.rename(Path::new(a), &dst.parent, Path::new(b)) {
        Ok(()) => 0,
        Err(e) => errno(&e),
    }
}

fn mkdir(exec: &mut Executive, slot: Slot, ptr: u32) -> u32 {
    let (root, parts) = match path_arg(exec, slot, ptr, false) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let resolved = match walk(&root, &parts) {
        Ok(r) => r,
        Err(e) => return e,
    };
    match resolved.kind() {
        Err(EACCES) => return EEXIST,
        Err(e) => return e,
        Ok(Kind::Missing) => {}
        Ok(_) => return EEXIST,
    }
    let Some(last) = resolved.last.as_deref() else {
        return EINVAL;
    };
    match resolved.parent.create_dir(last) {
        Ok(()) => 0,
        Err(e) => errno(&e),
    }
}
