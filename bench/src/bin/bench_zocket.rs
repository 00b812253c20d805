//! The zocket benchmark server: `bench-zocket --port 3000` (or `PORT`);
//! `bench-zocket --help` for the flags.

use std::time::Duration;

const USAGE: &str = "usage: bench-zocket [--port N] [--header-timeout SECONDS] [--redis URL]

  --port N                  the port on 127.0.0.1 (default: the PORT
                            variable, else 3000)
  --header-timeout SECONDS  how long a client has to send a complete HTTP
                            request head before the server closes its
                            connection (default: zocket's, 10)
  --redis URL               run as one node of several on this Redis
                            (zocket-redis)

The routes are math.add, math.blob, room.join and room.publish, on
zocket's default configuration without the frame rate limit.";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    zocket_bench::runtime()?.block_on(async {
        let mut config = zocket_bench::zocket_server::config();
        let mut rest = Vec::new();
        let mut all: Vec<String> = std::env::args().skip(1).collect();
        let redis = zocket_bench::wire::take_redis(&mut all)?;
        let mut args = all.into_iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--help" | "-h" => {
                    println!("{USAGE}");
                    return Ok(());
                }
                "--header-timeout" => {
                    let value = args.next().ok_or("--header-timeout needs a value")?;
                    let seconds: f64 = value
                        .parse()
                        .ok()
                        .filter(|s: &f64| (0.1..=3600.0).contains(s))
                        .ok_or_else(|| {
                            format!("--header-timeout: expected 0.1 to 3600 seconds, got {value:?}")
                        })?;
                    config = config.header_timeout(Duration::from_secs_f64(seconds));
                }
                _ => rest.push(arg),
            }
        }
        let port = zocket_bench::wire::port_from(rest).map_err(|err| format!("{err}\n{USAGE}"))?;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let adapter = match redis {
            Some(url) => Some(zocket_redis::RedisAdapter::connect(&url).await?),
            None => None,
        };
        println!("zocket listening on {}", listener.local_addr()?);
        zocket_bench::zocket_server::server_on(config, adapter)?
            .serve_listener(listener)
            .await?;
        Ok(())
    })
}
