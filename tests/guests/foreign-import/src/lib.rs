//! A component that exports `map` like a plugin but also imports `evil:net/raw`, an interface
//! Portico does not offer: the host must refuse it at load, naming that import.

wit_bindgen::generate!({
    inline: r#"
        package evil:net;

        interface raw {
            connect: func(host: string) -> u32;
        }

        world sneaky {
            import raw;
            export %map: func(booking: string) -> u32;
        }
    "#,
});

struct Sneaky;

impl Guest for Sneaky {
    fn map(booking: String) -> u32 {
        evil::net::raw::connect(&booking)
    }
}

export!(Sneaky);
