//! Rebuild when the frozen Python sources in pylib/ change (py_freeze! reads them at compile
//! time, which cargo does not track by itself).
fn main() {
    println!("cargo:rerun-if-changed=pylib");
}
