use sluice::prelude::*;

sluice::pipeline! {
    schema View { page: String, viewer: String }
    schema Like { liked: String, liker: String }

    query Liked from View join Like on page == liked and viewer == liker {
        select page, viewer;
    }
}

fn main() -> Result<(), sluice::Error> {
    let _ = Liked::read_streams(MemoryStream::<View>::new(), MemoryStream::<Like>::new())
        .write_stream()
        .format(ConsoleSink::new())
        .trigger(Trigger::continuous("1 second")?)
        .start();
    Ok(())
}
