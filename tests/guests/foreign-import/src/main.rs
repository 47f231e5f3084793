//! A plain WASI command component: a component of another world, which the host must refuse
//! because it does not export `map`.

fn main() {
    println!("I am a command, not a mapping plugin");
}
